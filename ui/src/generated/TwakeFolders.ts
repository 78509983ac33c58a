export type TwakeFolders = { path: string, folders: Array<string>, };
