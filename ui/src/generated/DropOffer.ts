export type DropOffer = { folders: Array<string>, files: number, };
