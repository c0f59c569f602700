using GrantSilo.Testing.Azurite;

namespace GrantSilo.EndToEnd.Tests.Support;

internal static class Repository
{
    public static string Root { get; } = AzuriteProcess.FindRepositoryRoot();

    public static string PathOf(string relative) => System.IO.Path.Combine(Root, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));
}
