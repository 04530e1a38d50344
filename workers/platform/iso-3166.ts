/**
 * ISO 3166 reference data for addresses: every officially assigned alpha-2 country code (ISO 3166-1, from the
 * iso-codes package), the subdivisions of the countries whose tax depends on them (ISO 3166-2), and the countries the
 * shop ships to. `XX`, `ZZ` and other user-assigned codes are not countries.
 */

/** ISO 3166-1 alpha-2, officially assigned (249 codes). */
export const ISO_COUNTRIES: ReadonlySet<string> = new Set([
  "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
  "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
  "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
  "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
  "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
  "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
  "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
  "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
  "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
  "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
  "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
  "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
  "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
  "ZM", "ZW",
]);

/**
 * Countries where sales tax depends on the subdivision: an address there must name one (ISO 3166-2 codes without the
 * country prefix). Without it a US or Canadian order would be taxed at the country's 0 / federal rate.
 */
export const REGION_REQUIRED: Readonly<Record<string, ReadonlySet<string>>> = {
  US: new Set([
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID", "IL", "IN", "KS",
    "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY",
    "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX", "UM", "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
  ]),
  CA: new Set([
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
  ]),
};

/**
 * Where orders are not shipped (embargoes and places without a postal service); every other ISO country is
 * shippable at its shipping rule (or the `*` rule).
 */
export const NOT_SHIPPABLE: ReadonlySet<string> = new Set(["AQ", "BV", "CU", "HM", "IR", "KP", "SY", "UM"]);

/** True for an officially assigned ISO 3166-1 alpha-2 code (upper case). */
export const isIsoCountry = (code: string): boolean => ISO_COUNTRIES.has(code);

/** True when the shop ships to `country`. */
export const isShippable = (country: string): boolean => ISO_COUNTRIES.has(country) && !NOT_SHIPPABLE.has(country);

/**
 * What is wrong with an address's country/region pair for tax purposes, or null: a region is required where tax depends
 * on it and must then be one of that country's subdivisions.
 */
export function regionProblem(country: string, region: string | undefined): string | null {
  // Own keys only: a client-chosen country such as "constructor" must not reach Object.prototype.
  const subdivisions = Object.hasOwn(REGION_REQUIRED, country) ? REGION_REQUIRED[country] : undefined;
  if (!subdivisions) return null;
  if (region === undefined || region === "") return `is required for ${country} addresses (tax depends on it)`;
  if (!subdivisions.has(region.toUpperCase())) return `must be an ISO 3166-2 subdivision of ${country}, such as '${country === "US" ? "CA" : "ON"}'`;
  return null;
}
