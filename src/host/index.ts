/**
 * The host layer's public face: the Host interface every host implements (the simulator, the
 * real-Hyper-V driver) with Hyper-V's object shapes, group checkpoints written against it
 * (docs/hyperv.md, "Group checkpoints"), fault injection and the simulated-time cost model.
 */
export type * from './host.js';
export { CHECKPOINT_TYPES } from './host.js';
export {
  checkpointGroup, getGroups, removeGroup, restoreGroup,
  type GroupCheckpointOptions, type GroupCheckpointReport, type GroupInfo, type GroupMember, type GroupRemoveReport, type GroupRestoreReport, type GroupSelector,
} from './group.js';
export { FAULT_OPS, FaultPlan, parseFault, type FaultOp, type FaultSpec } from './faults.js';
export { DEFAULT_COSTS, type CostModel } from './clock.js';
