export type DropChoice = "upload_once" | "watch" | "cancel";
