using GrantSilo.Grains.Catalog;

namespace GrantSilo.Grains.Decisions;

/// <summary>
/// What <see cref="RequestCheck.Check"/> found: a refusal with its detail, or the request's canonical resource
/// labelled by the catalog. <see cref="Labels"/> is set once the resource was labelled (for a refusal too).
/// </summary>
internal readonly record struct RequestVerdict(DecisionReason? Refusal, string Detail, ResourceRef Resource, LabelledResource? Labels = null)
{
    public static RequestVerdict Refused(DecisionReason reason, string detail, LabelledResource? labels = null) => new(reason, detail, null!, labels);
}

/// <summary>
/// The pure half of a decision, in one place: whether an Authorize request is well-formed (action, resource
/// type and classification, path, resource attributes, approval id) and within the credential's own scope
/// (permission and classification), with the resource labelled by the resource catalog (<see cref="ResourceLabels"/>)
/// before the classification is compared. It reads no clock, asks no grain and evaluates no policy, so it is tested
/// on its own; the credential grain runs it before anything that costs a call.
/// </summary>
internal static class RequestCheck
{
    public static RequestVerdict Check(Scope scope, string? action, ResourceRef? resource, string? approvalId, ResourceCatalog catalog)
    {
        if (action is null || !Permission.IsName(action, allowWildcard: false) || resource is null || !Permission.IsName(resource.Type, allowWildcard: false) || !Enum.IsDefined(resource.Classification))
        {
            return RequestVerdict.Refused(DecisionReason.InvalidRequest, "The action or resource type is malformed.");
        }
        var path = ResourcePattern.ParsePath(resource.Path);
        if (!path.IsSuccess)
        {
            return RequestVerdict.Refused(DecisionReason.InvalidRequest, $"The resource path is malformed: {path.Error.Message}");
        }
        var attributes = AttributeRules.ValidateResource(resource.Attributes);
        if (!attributes.IsSuccess)
        {
            return RequestVerdict.Refused(DecisionReason.InvalidRequest, attributes.Error.Message);
        }
        if (approvalId is not null && (approvalId.Length is 0 or > 128 || !Canonical.Identifier(approvalId, "Approval id").IsSuccess))
        {
            return RequestVerdict.Refused(DecisionReason.ApprovalInvalid, "The approval id is malformed.");
        }
        if (!scope.Covers(resource.Type, action, path.Value.Text))
        {
            return RequestVerdict.Refused(DecisionReason.ScopeDoesNotCover, $"The credential's scope does not allow {resource.Type}:{action} on '{path.Value.Text}'.");
        }
        var canonical = ReferenceEquals(path.Value.Text, resource.Path) && ReferenceEquals(attributes.Value, resource.Attributes)
            ? resource
            : resource with { Path = path.Value.Text, Attributes = attributes.Value };
        // The labels come from the catalog; the caller's classification may only raise them.
        var labels = ResourceLabels.Apply(catalog, canonical);
        if (labels.Resource.Classification > scope.MaxClassification)
        {
            return RequestVerdict.Refused(DecisionReason.ClassificationExceeded, $"The resource is {labels.Resource.Classification}: {labels.ClassificationSource}. The scope allows up to {scope.MaxClassification}.", labels);
        }
        return new RequestVerdict(null, "", labels.Resource, labels);
    }
}
