using GrantSilo.Cedar.Evaluation;

namespace GrantSilo.Cedar.Validation;

/// <summary>Collects one policy's errors without duplicates (the same error is found once per request environment).</summary>
internal sealed class ValidationReporter(Policy policy)
{
    private readonly HashSet<(ValidationErrorCode, int, string)> _seen = [];

    public List<ValidationError> Errors { get; } = [];

    public List<ValidationWarning> Warnings { get; } = [];

    public void Warning(ValidationWarningCode code, int offset, string message) =>
        Warnings.Add(new ValidationWarning(policy.Id, code, PositionOf(offset), message));

    public void Error(ValidationErrorCode code, Expr at, string message) => Error(code, at.Offset, message);

    public void Error(ValidationErrorCode code, int offset, string message)
    {
        if (_seen.Add((code, offset, message)))
        {
            Errors.Add(new ValidationError(policy.Id, code, PositionOf(offset), message));
        }
    }

    /// <summary>The position of an offset in the policy set text, computed from the policy's own position and text.</summary>
    public SourcePosition PositionOf(int offset)
    {
        var start = policy.Position;
        if (offset < start.Offset || offset > start.Offset + policy.Text.Length)
        {
            return start;
        }

        int line = start.Line, column = start.Column;
        for (var i = 0; i < offset - start.Offset; i++)
        {
            if (policy.Text[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return new SourcePosition(offset, line, column);
    }
}
