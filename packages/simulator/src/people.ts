/**
 * The simulated people and everything that identifies them. Values embed the person's index
 * or are checked against every value handed out before, so no two people share an e-mail
 * address, phone number, card or id by accident: any cluster that mixes people is the
 * resolver's doing, not the generator's. The only value deliberately shared is a household's
 * tablet (its Segment `context.device.id`), which the identity rules treat as non-merging.
 */
import type { SeededRandom } from '@elephant/identity';
import { AREA_CODES, CITIES, FIRST_NAMES, LAST_NAMES, PERSONAL_DOMAINS, DOMAIN_TYPOS, STORES, STREETS, TABLET_MODELS, PHONE_MODELS, WORK_DOMAINS, type Store } from './catalog.ts';
import { ipAddress, uuid } from './format.ts';

/** How a person first became a known customer. */
export const ACQUISITION_PATHS = [
  /** Signs up on the web shop (identify with userId and e-mail; the CRM gets the account). */
  'online',
  /** Joins the loyalty programme at a till (CRM contact with card, phone, e-mail). */
  'store',
  /** Fills in a marketing form (e-mail next to the browser cookie; the CRM gets a lead). */
  'lead',
  /** Never identifies: browses, clicks ads and downloads with one cookie. */
  'anonymous',
] as const;
export type AcquisitionPath = (typeof ACQUISITION_PATHS)[number];

export interface AppInstall {
  readonly anonymousId: string;
  /** IDFV / Android id: the Segment context.device.id. */
  readonly deviceId: string;
  /** IDFA / AAID; all zeros when the person limits ad tracking (a placeholder the rules block). */
  readonly advertisingId: string;
  readonly limitAdTracking: boolean;
  readonly model: (typeof PHONE_MODELS)[number];
}

export interface Household {
  readonly id: string;
  /** The shared tablet's context.device.id. */
  readonly deviceId: string;
  readonly model: (typeof TABLET_MODELS)[number];
  readonly members: string[];
}

export interface Persona {
  readonly index: number;
  readonly id: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly country: 'US' | 'CA';
  readonly currency: 'USD' | 'CAD';
  readonly path: AcquisitionPath;
  /** Index into JOURNEY_STAGES of the last stage the person reaches (0 = aware only). */
  readonly depth: number;
  /** Normalized addresses; the first is the personal one every path starts with. */
  readonly emails: readonly string[];
  /** A mistyped version of the first address the person enters once in a form: a different address, and undeliverable. */
  readonly typoEmail: string | null;
  /** E.164. */
  readonly phones: readonly string[];
  readonly userId: string | null;
  readonly crmId: string | null;
  readonly loyalty: { readonly card: string; readonly memberId: string } | null;
  readonly payments: readonly string[];
  /** anonymousId of the person's main browser. */
  readonly desktop: string;
  /** anonymousId of the phone's browser, for people who log in there too. */
  readonly mobileWeb: string | null;
  readonly app: AppInstall | null;
  /** The person's own anonymousId on the household tablet (Segment resets it at each login). */
  household: { readonly household: Household; readonly anonymousId: string } | null;
  readonly homeStore: Store;
  /** UTC offset of the person's local time, in minutes. */
  readonly offsetMinutes: number;
  readonly address: { readonly street: string; readonly city: string; readonly state: string; readonly postalCode: string; readonly country: 'US' | 'CA' };
  readonly birthDate: string;
  readonly ip: string;
  readonly userAgent: number;
}

/** Unique values: draws until `make` yields one not handed out before. */
class Registry {
  readonly #taken = new Set<string>();

  claim(make: (attempt: number) => string): string {
    for (let attempt = 0; ; attempt += 1) {
      const value = make(attempt);
      if (!this.#taken.has(value)) {
        this.#taken.add(value);
        return value;
      }
    }
  }
}

const slug = (name: string): string => name.toLowerCase().replace(/[^a-z]/g, '');

function personalEmail(random: SeededRandom, registry: Registry, first: string, last: string, domain: string): string {
  const f = slug(first);
  const l = slug(last);
  const styles = [`${f}.${l}`, `${f}${l}`, `${f[0] ?? 'x'}${l}`, `${f}_${l}`, `${f}.${l}${random.between(1, 99)}`, `${l}.${f}`];
  const base = random.pick(styles);
  return registry.claim((attempt) => (attempt === 0 ? `${base}@${domain}` : `${base}${random.between(1, attempt < 5 ? 999 : 99999)}@${domain}`));
}

function phoneNumber(random: SeededRandom, registry: Registry, country: 'US' | 'CA'): string {
  return registry.claim(() => {
    // Exchange: 2-9 first, never N11 (service codes); line: any.
    let exchange = random.between(200, 999);
    if (exchange % 100 === 11) exchange += 1;
    return `+1${random.pick(AREA_CODES[country])}${exchange}${String(random.int(10_000)).padStart(4, '0')}`;
  });
}

/** Stage depth of a person who becomes known: acquire 12%, onboard 15%, engage 23%, retain 28%, expand 22%. */
const DEPTH_WEIGHTS = [0, 0.12, 0.15, 0.23, 0.28, 0.22];

export function createPeople(random: SeededRandom, count: number, householdShare: number): { personas: Persona[]; households: Household[] } {
  const registry = new Registry();
  const personas: Persona[] = [];
  for (let index = 0; index < count; index += 1) {
    const country = random.chance(0.12) ? 'CA' : 'US';
    const firstName = random.pick(FIRST_NAMES);
    const lastName = random.pick(LAST_NAMES);
    const path: AcquisitionPath = random.chance(0.1) ? 'anonymous' : (['online', 'store', 'lead'] as const)[random.weighted([0.55, 0.3, 0.15])] ?? 'online';
    const depth = path === 'anonymous' ? 0 : random.weighted(DEPTH_WEIGHTS);
    const domains = PERSONAL_DOMAINS[country];
    const emailCount = path === 'anonymous' ? 0 : 1 + random.weighted([0.55, 0.33, 0.12]);
    const emails: string[] = [];
    for (let k = 0; k < emailCount; k += 1) {
      emails.push(k === 1 && random.chance(0.6) ? registry.claim((attempt) => `${slug(firstName)[0] ?? 'x'}${slug(lastName)}${attempt === 0 ? '' : attempt}@${random.pick(WORK_DOMAINS)}`) : personalEmail(random, registry, firstName, lastName, random.pick(domains)));
    }
    const first = emails[0];
    const typoDomain = first === undefined ? undefined : DOMAIN_TYPOS[first.split('@')[1] ?? ''];
    const typoEmail = first !== undefined && typoDomain !== undefined && random.chance(0.06) ? registry.claim((attempt) => `${first.split('@')[0] ?? ''}${attempt === 0 ? '' : attempt}@${typoDomain}`) : null;
    const phoneCount = path === 'anonymous' ? 0 : path === 'store' ? 1 + random.weighted([0.7, 0.25, 0.05]) : random.weighted([0.15, 0.55, 0.25, 0.05]);
    const phones = Array.from({ length: phoneCount }, () => phoneNumber(random, registry, country));
    const signsUp = path === 'online' || (depth >= 2 && random.chance(0.4));
    const hasLoyalty = path === 'store' || (path !== 'anonymous' && depth >= 2 && random.chance(path === 'online' ? 0.3 : 0.15));
    const tag = index.toString(36).padStart(4, '0');
    const loyalty = hasLoyalty ? { card: `6001${String(index).padStart(7, '0')}${String(random.int(100_000)).padStart(5, '0')}`, memberId: `ER-${String(1_000_000 + index)}` } : null;
    const crmId = path === 'store' || path === 'lead' || hasLoyalty || (path === 'online' && random.chance(0.7)) ? `C-${String(200_000 + index)}` : null;
    const paymentCount = path === 'anonymous' ? 0 : 1 + random.weighted([0.6, 0.3, 0.1]);
    const payments = Array.from({ length: paymentCount }, (_, k) => `pf_${tag}${k}${random.hex(11)}`);
    const place = random.pick(CITIES[country]);
    const homeStore = STORES.find((store) => store.id === place.store) ?? random.pick(STORES.filter((store) => store.country === country));
    const hasApp = signsUp && depth >= 2 && random.chance(0.35);
    const limitAdTracking = random.chance(0.3);
    personas.push({
      index,
      id: `person-${String(index).padStart(6, '0')}`,
      firstName,
      lastName,
      country,
      currency: country === 'CA' ? 'CAD' : 'USD',
      path,
      depth,
      emails,
      typoEmail,
      phones,
      userId: signsUp ? `usr_${tag}${random.hex(8)}` : null,
      crmId,
      loyalty,
      payments,
      desktop: uuid(random),
      mobileWeb: signsUp && random.chance(0.5) ? uuid(random) : null,
      app: hasApp
        ? {
            anonymousId: uuid(random).toUpperCase(),
            deviceId: uuid(random).toUpperCase(),
            advertisingId: limitAdTracking ? '00000000-0000-0000-0000-000000000000' : uuid(random).toUpperCase(),
            limitAdTracking,
            model: random.pick(PHONE_MODELS),
          }
        : null,
      household: null,
      homeStore,
      offsetMinutes: place.offsetMinutes,
      address: {
        street: `${random.between(1, 9999)} ${random.pick(STREETS)}`,
        city: place.city,
        state: place.state,
        postalCode: country === 'CA' ? `${place.zip} ${random.between(1, 9)}${String.fromCharCode(65 + random.int(26))}${random.between(1, 9)}` : `${place.zip}${String(random.int(100)).padStart(2, '0')}`,
        country,
      },
      birthDate: `${random.between(1955, 2004)}-${String(random.between(1, 12)).padStart(2, '0')}-${String(random.between(1, 28)).padStart(2, '0')}`,
      ip: ipAddress(random),
      userAgent: random.int(4),
    });
  }

  // Households share a tablet; only people who log in get one, since the tablet's events are
  // tied to each member by that member's login on it. Starting one with probability s/(3-2s)
  // puts a share s of eligible people in households averaging three members.
  const households: Household[] = [];
  const eligible = personas.filter((persona) => persona.userId !== null && persona.depth >= 2);
  for (let position = 0; position < eligible.length; ) {
    if (!random.chance(householdShare / (3 - 2 * householdShare))) {
      position += 1;
      continue;
    }
    const size = Math.min(random.between(2, 4), eligible.length - position);
    if (size < 2) break;
    const household: Household = { id: `household-${String(households.length).padStart(5, '0')}`, deviceId: uuid(random).toUpperCase(), model: random.pick(TABLET_MODELS), members: [] };
    for (const member of eligible.slice(position, position + size)) {
      member.household = { household, anonymousId: uuid(random).toUpperCase() };
      household.members.push(member.id);
    }
    households.push(household);
    position += size;
  }
  return { personas, households };
}
