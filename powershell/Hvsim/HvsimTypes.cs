// Types the hvsim module's objects carry where the Hyper-V module is not loaded: the enums of
// docs/hyperv.md "Enums" (values from the Hyper-V module stub), the exception type of Hyper-V's
// errors, an ErrorRecord that keeps Hyper-V's FullyQualifiedErrorId, and the job -AsJob returns.
// Compiled once by Hvsim.psm1 (Add-Type) and cached; C# 5 syntax for Windows PowerShell 5.1.
using System.Management.Automation;

namespace Microsoft.HyperV.PowerShell
{
    public enum VMState
    {
        Other = 1, Running = 2, Off = 3, Stopping = 4, Saved = 6, Paused = 9, Starting = 10, Reset = 11,
        Saving = 32773, Pausing = 32776, Resuming = 32777, FastSaved = 32779, FastSaving = 32780,
        ForceShutdown = 32781, ForceReboot = 32782, Hibernated = 32783, ComponentServicing = 32784,
        RunningCritical = 32785, OffCritical = 32786, StoppingCritical = 32787, SavedCritical = 32788,
        PausedCritical = 32789, StartingCritical = 32790, ResetCritical = 32791, SavingCritical = 32792,
        PausingCritical = 32793, ResumingCritical = 32794, FastSavedCritical = 32795, FastSavingCritical = 32796
    }

    public enum VMOperationalStatus
    {
        Ok = 2, Degraded = 3, ApplyingSnapshot = 23769, CreatingSnapshot = 32768, DeletingSnapshot = 32770,
        WaitingToStart = 32771, MergingDisks = 32772, ExportingVirtualMachine = 32773,
        MigratingVirtualMachine = 32774, BackingUpVirtualMachine = 32776
    }

    public enum CheckpointType { Disabled = 2, Production = 3, ProductionOnly = 4, Standard = 5 }

    public enum SnapshotType { Standard = 0, Recovery = 1, Planned = 2, Missing = 5, Replica = 6, AppConsistentReplica = 7, SyncedReplica = 8 }

    public enum ControllerType { IDE = 0, SCSI = 1, PMEM = 2 }

    public class VirtualizationException : System.Exception
    {
        public VirtualizationException(string message) : base(message) { }
    }
}

namespace Hvsim
{
    /// <summary>
    /// A Hyper-V cmdlet's error: PowerShell appends ",&lt;function&gt;" to the id of an error an
    /// advanced function writes; this record answers Hyper-V's id as it was given.
    /// </summary>
    public class HyperVErrorRecord : ErrorRecord
    {
        private readonly string id;
        public HyperVErrorRecord(System.Exception exception, string fullyQualifiedErrorId, ErrorCategory category, object target)
            : base(exception, fullyQualifiedErrorId, category, target)
        {
            id = fullyQualifiedErrorId;
        }
        public new string FullyQualifiedErrorId { get { return id; } }
    }

    /// <summary>What -AsJob returns: the call has already run; the job holds its output.</summary>
    public class HvsimJob : Job
    {
        public HvsimJob(string command, string name) : base(command, name) { PSJobTypeName = "HvsimJob"; }
        public void Finish(bool failed) { SetJobState(failed ? JobState.Failed : JobState.Completed); }
        public override string StatusMessage { get { return string.Empty; } }
        public override bool HasMoreData { get { return Output.Count > 0 || Error.Count > 0 || Warning.Count > 0; } }
        public override string Location { get { return "localhost"; } }
        public override void StopJob() { }
    }
}
