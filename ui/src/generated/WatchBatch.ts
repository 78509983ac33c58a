import type { WatchedFolder } from "./WatchedFolder";
export type WatchBatch = { folders: Array<WatchedFolder>, removed: Array<string>, resync: boolean, };
