namespace GrantSilo;

/// <summary>How sensitive data is; a scope caps the highest classification its holder may touch.</summary>
public enum DataClassification
{
    /// <summary>May be published.</summary>
    Public = 0,
    /// <summary>Internal to the organisation (the default a caller asserts; the resource catalog has the last word).</summary>
    Internal = 1,
    /// <summary>Confidential: limited to those who need it.</summary>
    Confidential = 2,
    /// <summary>Restricted: regulated or secret data.</summary>
    Restricted = 3,
}
