/**
 * The guided lesson: the seed document's workflow step by step (docs/ui.md, "The lesson"). Each
 * step explains, shows the command it runs, and runs it through the same back end as the page's
 * buttons and PowerShell pane.
 */
import type { UiAction } from '../types.js';

export const LESSON_VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'] as const;

export interface LessonStep {
  title: string;
  /** What happens and what to look at (plain text). */
  explain: string;
  /** What runs: PowerShell through the interpreter, or page actions (shown as their cmdlets). */
  run: { ps: string } | { actions: UiAction[]; shown: string };
  /** The view to look at afterwards. */
  look: 'vms' | 'checkpoints' | 'disks' | 'blocks' | 'groups';
  /** The VM to select for the step. */
  vm?: string;
}

const seedVMs = `"${LESSON_VMS.join('","')}"`;

export function lessonSteps(computerName: string, exportHint: string): LessonStep[] {
  return [
    {
      title: 'Three related VMs',
      explain:
        'The seed checkpoints a group of related VMs (a farm, a multi-tier application). Create three small VMs and start them. Each gets one dynamic .vhdx in its folder: the base disk, writable.',
      run: {
        ps: `$HVHost = '${computerName.replace(/['‘’‚‛]/g, "''")}'\n$VMs = ${seedVMs}\nforeach ($n in $VMs) { New-VM -Name $n -NewVHDSizeBytes 64MB | Out-Null }\nStart-VM -Name $VMs\nGet-VM -Name $VMs | Select VMName,State | FT -AutoSize`,
      },
      look: 'vms',
      vm: 'SSTest1',
    },
    {
      title: 'Data on the disks',
      explain:
        'The guests write. With no checkpoint yet every block lands in the base .vhdx itself: the block map is one colour.',
      run: {
        actions: LESSON_VMS.map((vm, i) => ({ op: 'write', vm, drive: 0, offset: i * 4 * 1024 * 1024, length: 6 * 1024 * 1024 })),
        shown: '# the guests write 6 MiB each (hvsim write-vm)',
      },
      look: 'blocks',
      vm: 'SSTest1',
    },
    {
      title: '1. Pause and save',
      explain: 'Stop-VM -Save pauses each VM and writes its memory to disk: the VMs are Saved, frozen at this instant.',
      run: { ps: 'Stop-VM -Name $VMs -Save\nGet-VM -ComputerName $HVHost -Name $VMs | Select VMName,State,ComputerName | FT -AutoSize' },
      look: 'vms',
    },
    {
      title: '2. Checkpoint',
      explain:
        'Checkpoint-VM: for each VM the .vhdx becomes read-only and a new .avhdx beside it receives every later write. The tree shows the checkpoint with "Now" under it.',
      run: { ps: 'Checkpoint-VM -ComputerName $HVHost -Name $VMs\nGet-VMSnapshot -ComputerName $HVHost -VMName $VMs | Select VMName, Name, ComputerName | FT -AutoSize' },
      look: 'disks',
      vm: 'SSTest1',
    },
    {
      title: '3. Restart',
      explain: 'Start-VM resumes the VMs from their saved state. They run on the .avhdx now.',
      run: { ps: 'Start-VM -ComputerName $HVHost -Name $VMs\nGet-VM -ComputerName $HVHost -Name $VMs | Select VMName, State, ComputerName | FT -AutoSize' },
      look: 'vms',
    },
    {
      title: 'The same as one operation',
      explain:
        "hvsim's group checkpoint does steps 1 to 3 at once, all or nothing: pause every VM, save, checkpoint each with one group id, resume. The Groups tab draws each VM's freeze and the skew between them.",
      run: { actions: [{ op: 'checkpoint-group', vms: [...LESSON_VMS], snapshotName: 'Group' }], shown: `hvsim checkpoint-group --name ${LESSON_VMS.join(',')} --snapshot-name Group` },
      look: 'groups',
      vm: 'SSTest1',
    },
    {
      title: 'New blocks land in the writable leaf',
      explain:
        'SSTest1 writes 4 MiB at 2 MiB. A read first looks in the .avhdx and, where it holds nothing, falls through to the parent: the map shows both colours, and how deep a read walks.',
      run: { actions: [{ op: 'write', vm: 'SSTest1', drive: 0, offset: 2 * 1024 * 1024, length: 4 * 1024 * 1024 }], shown: '# SSTest1 writes 4 MiB at offset 2 MiB (hvsim write-vm)' },
      look: 'blocks',
      vm: 'SSTest1',
    },
    {
      title: '4. Remove all checkpoints',
      explain:
        'Remove-VMSnapshot -IncludeAllChildSnapshots: the checkpoints go at once, then the .avhdx merges into the .vhdx in the background (watch the blocks move) and the file disappears. The .vhdx is writable again.',
      run: { ps: 'Remove-VMSnapshot -ComputerName $HVHost -VMName $VMs -IncludeAllChildSnapshots\nGet-VMSnapshot -ComputerName $HVHost -VMName $VMs | Select VMName, Name, ComputerName | FT -AutoSize' },
      look: 'blocks',
      vm: 'SSTest1',
    },
    {
      title: 'Nested checkpoints',
      explain:
        'Four checkpoints of SSTest1 with writes after each: a chain of .avhdx files, each the parent of the next. All are read-only except the newest one; a read may have to walk the chain down to the base.',
      run: {
        actions: [1, 2, 3, 4].flatMap((i): UiAction[] => [
          { op: 'checkpoint', vms: ['SSTest1'], snapshotName: `Step ${i}` },
          { op: 'write', vm: 'SSTest1', drive: 0, offset: (16 + 4 * i) * 1024 * 1024, length: 3 * 1024 * 1024 },
        ]),
        shown: [1, 2, 3, 4].map((i) => `Checkpoint-VM -Name SSTest1 -SnapshotName "Step ${i}"\n# the guest writes 3 MiB at ${16 + 4 * i} MiB`).join('\n'),
      },
      look: 'checkpoints',
      vm: 'SSTest1',
    },
    {
      title: 'Data between the checkpoints',
      explain: 'The guest writes again: the new blocks land in the leaf .avhdx only.',
      run: { actions: [{ op: 'write', vm: 'SSTest1', drive: 0, offset: 10 * 1024 * 1024, length: 6 * 1024 * 1024 }], shown: '# SSTest1 writes 6 MiB at offset 10 MiB' },
      look: 'blocks',
      vm: 'SSTest1',
    },
    {
      title: 'Remove one in the middle',
      explain:
        'Checkpoints need not be removed in order. Removing "Step 2" merges its blocks into its child\'s file; "Step 3" becomes the child of "Step 1".',
      run: { ps: 'Remove-VMSnapshot -VMName SSTest1 -Name "Step 2"\nGet-VMSnapshot -VMName SSTest1 | Select Name, ParentSnapshotName | FT -AutoSize' },
      look: 'disks',
      vm: 'SSTest1',
    },
    {
      title: 'Delete a subtree',
      explain: '"Delete Checkpoint Subtree" in Hyper-V Manager: "Step 3" and everything under it go in one step.',
      run: { ps: 'Remove-VMSnapshot -VMName SSTest1 -Name "Step 3" -IncludeAllChildSnapshots\nGet-VMSnapshot -VMName SSTest1 | Select Name, ParentSnapshotName | FT -AutoSize' },
      look: 'checkpoints',
      vm: 'SSTest1',
    },
    {
      title: 'Export',
      explain: `Export-VMSnapshot writes the checkpoint's disks as standalone files (to ${exportHint}), usable to create a clone.`,
      run: { actions: [{ op: 'export', vm: 'SSTest1', name: 'Step 1' }], shown: 'Export-VMSnapshot -VMName SSTest1 -Name "Step 1" -Path <exports>' },
      look: 'checkpoints',
      vm: 'SSTest1',
    },
    {
      title: 'Rename',
      explain: 'Rename-VMSnapshot changes only the name; files stay as they are.',
      run: { ps: 'Rename-VMSnapshot -VMName SSTest1 -Name "Step 1" -NewName "Known good"\nGet-VMSnapshot -VMName SSTest1 | Select Name | FT -AutoSize' },
      look: 'checkpoints',
      vm: 'SSTest1',
    },
    {
      title: 'Apply',
      explain:
        'Restore-VMSnapshot reverts the VM to the checkpoint: "Now" moves under it, a fresh .avhdx starts on its file, and the VM is in the state the checkpoint held.',
      run: { ps: 'Restore-VMSnapshot -VMName SSTest1 -Name "Known good" -Confirm:$false\nGet-VM -Name SSTest1 | Select VMName, State, ParentSnapshotName | FT -AutoSize' },
      look: 'checkpoints',
      vm: 'SSTest1',
    },
  ];
}
