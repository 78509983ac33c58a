import type { WatchedFolder } from "./WatchedFolder";
export type WatchOverview = { folders: Array<WatchedFolder>, builtin_ignore: Array<string>, };
