namespace GrantSilo.Persistence.AzureTables.Internal;

/// <summary>Event ids of every log message the Azure Table providers write.</summary>
internal enum AzureTableEventId
{
    TableCreated = 41000,
    TableInitFailed = 41001,

    GrainStateRead = 41100,
    GrainStateWritten = 41101,
    GrainStateCleared = 41102,
    GrainStateConflict = 41103,
    GrainStateFailed = 41104,
    GrainStateTooLarge = 41105,
    GrainStateOutcomeResolved = 41106,

    ReminderRead = 41200,
    ReminderUpserted = 41201,
    ReminderRemoved = 41202,
    ReminderFailed = 41203,
    ReminderTableCleared = 41204,
    ReminderQueryFailed = 41205,

    MembershipVersionRowCreated = 41300,
    MembershipContention = 41301,
    MembershipFailed = 41302,
    MembershipOutcomeResolved = 41303,
    MembershipSnapshotRetry = 41304,
    MembershipDefunctRemoved = 41305,
    MembershipEntryUnreadable = 41306,

    GatewaysFound = 41400,
    GatewayListFailed = 41401,
}
