export type TwakeCompany = { id: string, name: string, };
