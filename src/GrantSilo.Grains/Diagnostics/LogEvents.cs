namespace GrantSilo.Grains.Diagnostics;

/// <summary>Event ids of GrantSilo's log messages, in one place so they never collide.</summary>
internal enum LogEvents
{
    AgentRegistered = 1000,
    AgentStatusChanged = 1001,
    AgentCascadeStepFailed = 1002,
    TaskCreated = 1100,
    TaskDelegated = 1101,
    TaskEnded = 1102,
    TaskCheckpointReached = 1103,
    TaskReauthorized = 1104,
    TaskCascadeStepFailed = 1105,
    TaskDelegationRejected = 1106,
    SessionOpened = 1200,
    SessionEnded = 1201,
    SessionCascadeStepFailed = 1202,
    CredentialIssued = 1300,
    CredentialEnded = 1301,
    DecisionFailed = 1302,
    StateWriteFailed = 1400,
}
