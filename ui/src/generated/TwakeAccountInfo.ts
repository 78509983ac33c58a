import type { TwakeCompany } from "./TwakeCompany";
export type TwakeAccountInfo = { name: string, server: string, email: string, company_id: string, companies: Array<TwakeCompany>, signed_out: string | null, };
