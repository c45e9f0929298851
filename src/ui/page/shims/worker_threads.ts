/** node:worker_threads in the static build (the parallel reader of real files is never made in memory). */
export class Worker {
  constructor() {
    throw new Error('worker threads are not available in the static build');
  }
}
export class MessageChannel {
  constructor() {
    throw new Error('worker threads are not available in the static build');
  }
}
export type MessagePort = never;
