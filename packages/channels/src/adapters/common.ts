/** Field groups several channels share: person traits, consent, customer identifiers, money. */
import { schemaViolation } from '../errors.ts';
import { Fields, hasValue, isRecord, jsonText, nestedDeeperThan, PROPERTY_LIMITS, setOwn } from '../fields.ts';
import { isNegativeAmount, MAX_AMOUNT_MINOR, normalizeCountry, parseCalendarDate, parseCurrency, parseTimestamp, toMinorUnits, minorUnits } from '../values.ts';
import type { AdapterContext } from '../context.ts';
import type { IdentifierCollector } from '../identifiers.ts';
import type { Address, Consent, LineItem, Traits } from '../generated/touchpoint.ts';

/** `table[key]` for own keys only, so event names like `constructor` never hit Object.prototype. */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A required timestamp field (ISO 8601 with offset, or epoch ms). */
export function readTime(fields: Fields, key: string): number {
  return parseTimestamp(fields.take(key), fields.at(key));
}

/** The value of a `type` field, lower-cased, separators unified to `_` (`Contact.Created` → `contact_created`). */
export function readKind(fields: Fields, key = 'type'): string {
  return fields.string(key).toLowerCase().replace(/[\s.-]+/g, '_');
}

/**
 * `key`, or the first of `key#2`, `key#3`, ... that `target` does not have yet. `next` remembers
 * per key the next suffix to try, so that many keys reaching one stay linear.
 */
function freeKey(target: Readonly<Record<string, unknown>>, key: string, next: Map<string, number>): string {
  if (!Object.hasOwn(target, key)) return key;
  let n = next.get(key) ?? 2;
  while (Object.hasOwn(target, `${key}#${n}`)) n += 1;
  next.set(key, n + 1);
  return `${key}#${n}`;
}

/** A preference's value (`holder[key]`) as text: strings as-is, anything else JSON-encoded, source digits kept (jsonText). */
function textOf(value: unknown, holder: object, key: string): string {
  const text = typeof value === 'string' ? value : jsonText(value, holder, key);
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** Consent statements: `[{ purpose, granted, statedAt? }]`; statedAt defaults to the event time (absent, null or blank). */
export function readConsents(fields: Fields, key: string, eventTime: number): Consent[] {
  return fields.objects(key).map((item) => {
    const granted = item.optBool('granted');
    if (granted === null) throw schemaViolation(item.at('granted'), 'is required');
    return { purpose: item.string('purpose'), granted, statedAt: item.hasValue('statedAt') ? readTime(item, 'statedAt') : eventTime };
  });
}

function readAddress(fields: Fields): Address | null {
  const country = fields.optText('country');
  const address: Address = {
    street: fields.firstText('street', 'street_address', 'line1'),
    city: fields.optText('city'),
    postalCode: fields.firstText('postalCode', 'postal_code', 'zip'),
    region: fields.firstText('region', 'state'),
    country: country === null ? null : normalizeCountry(country),
  };
  return Object.values(address).some((value) => value !== null) ? address : null;
}

export interface TraitOptions {
  /** Key of the consent array, if this source carries one. */
  readonly consentKey?: string;
  /** Consent read elsewhere (e.g. Segment's context.consent). */
  readonly consent?: readonly Consent[];
  /** Contact e-mail/phone chosen elsewhere (e.g. a CRM's primary of several). */
  readonly email?: string | null;
  readonly phone?: string | null;
}

/**
 * Person traits in the names Segment and Elephant's own formats use (camelCase, with the
 * Segment snake_case spellings accepted). `email` and `phone` also become identifiers.
 * Values that cannot be a trait (a birthday that is no date, a name or an address field that
 * is no text) are left unread, so they stay in properties instead of being lost or failing
 * the event. Text is a string or a safe integer (Fields.optText).
 * @returns null when the event states no trait at all
 */
export function readTraits(fields: Fields, ids: IdentifierCollector, eventTime: number, options: TraitOptions = {}): Traits | null {
  // A dropped e-mail or phone stays in properties (IdentifierCollector.read), as any field no trait took.
  const email = options.email !== undefined ? options.email : ids.read('email', fields, 'email');
  const phone = options.phone !== undefined ? options.phone : ids.read('phone', fields, 'phone');
  const company = isRecord(fields.peek('company')) ? (fields.optObject('company')?.optText('name') ?? null) : fields.optText('company');
  let birthDate: string | null = null;
  for (const key of ['birthDate', 'birthday']) {
    birthDate = parseCalendarDate(fields.peek(key));
    if (birthDate !== null) {
      fields.take(key);
      break;
    }
  }
  const preferences: Record<string, string> = {};
  const rawPreferences = fields.peek('preferences');
  // Too deep to JSON-encode: left to properties, which refuse it as PROPERTIES_TOO_LARGE (too_deep).
  if (isRecord(rawPreferences) && !nestedDeeperThan(rawPreferences, PROPERTY_LIMITS.depth + 1)) {
    const preferenceFields = fields.object('preferences');
    let repaired: Map<string, number> | undefined;
    for (const [key, value] of Object.entries(rawPreferences)) {
      // A null states no preference: left unread, kept in properties as `null` (before
      // 2026-12-07 it was discarded).
      if (value === null) continue;
      preferenceFields.take(key);
      const name = key.isWellFormed() ? key : key.toWellFormed();
      if (repaired === undefined && name === key) setOwn(preferences, key, textOf(value, rawPreferences, key));
      else {
        // Keys that differ only in a lone surrogate read alike once repaired (U+FFFD): each is
        // kept, the first in message order under the key, the next with `#2`, ..., as in properties.
        repaired ??= new Map();
        setOwn(preferences, freeKey(preferences, name, repaired), textOf(value, rawPreferences, key));
      }
    }
  }
  const addressFields = isRecord(fields.peek('address')) ? fields.optObject('address') : null;
  const traits: Traits = {
    email,
    phone,
    firstName: fields.firstText('firstName', 'first_name'),
    lastName: fields.firstText('lastName', 'last_name'),
    company,
    address: addressFields === null ? null : readAddress(addressFields),
    birthDate,
    gender: typeof fields.peek('gender') === 'string' ? fields.optString('gender') : null,
    preferences,
    consent: [...(options.consent ?? []), ...(options.consentKey === undefined ? [] : readConsents(fields, options.consentKey, eventTime))],
  };
  const stated =
    [traits.email, traits.phone, traits.firstName, traits.lastName, traits.company, traits.address, traits.birthDate, traits.gender].some((value) => value !== null) ||
    Object.keys(preferences).length > 0 ||
    traits.consent.length > 0;
  return stated ? traits : null;
}

/**
 * One entry of an `identifiers: [{ type, value }]` list. An entry that yields no identifier
 * (its value dropped, or null) is left unread whole, type and value, so properties keep it.
 */
export function readListedIdentifier(item: Fields, ids: IdentifierCollector): void {
  const type = item.string('type');
  if (ids.read(type, item, 'value') !== null) return;
  item.leave('type');
  item.leave('value');
}

/**
 * Identifiers of Elephant's own formats' `customer` object: userId, crmId, email, phone,
 * loyaltyCard, anonymousId, deviceId, and `identifiers: [{ type, value }]` for custom types.
 * Values normalization drops stay in properties (IdentifierCollector.read).
 */
export function readCustomer(fields: Fields | null, ids: IdentifierCollector): void {
  if (fields === null) return;
  const known: readonly (readonly [string, string])[] = [
    ['userId', 'user_id'],
    ['crmId', 'crm_id'],
    ['email', 'email'],
    ['phone', 'phone'],
    ['loyaltyCard', 'loyalty_card'],
    ['anonymousId', 'anonymous_id'],
    ['deviceId', 'device_id'],
  ];
  for (const [key, type] of known) ids.read(type, fields, key);
  for (const item of fields.objects('identifiers')) readListedIdentifier(item, ids);
}

/** A currency field, or the deployment default. @throws SCHEMA_VIOLATION when neither exists */
export function readCurrency(fields: Fields, key: string, context: AdapterContext): string {
  const value = fields.optString(key);
  if (value !== null) return parseCurrency(value, fields.at(key));
  if (context.defaultCurrency !== undefined) return parseCurrency(context.defaultCurrency, 'defaultCurrency');
  throw schemaViolation(fields.at(key), 'is required (no defaultCurrency is configured)');
}

/** An amount given either in minor units (`minorKey`, preferred) or as a decimal (`decimalKey`); null when neither. */
export function readAmount(fields: Fields, decimalKey: string, minorKey: string | null, currency: string): number | null {
  return readSignedAmount(fields, decimalKey, minorKey, currency)?.minor ?? null;
}

/** readAmount's magnitude, and whether the source wrote the amount negative (a coupon line, an item taken back). */
function readSignedAmount(fields: Fields, decimalKey: string, minorKey: string | null, currency: string): { readonly minor: number; readonly negative: boolean } | null {
  // An empty string is no amount, as in text fields: `total: ""` falls back to `revenue`.
  const key = minorKey !== null && fields.hasValue(minorKey) ? minorKey : fields.hasValue(decimalKey) ? decimalKey : null;
  if (key === null) return null;
  const value = fields.take(key);
  return { minor: key === minorKey ? minorUnits(value, fields.at(key)) : toMinorUnits(value, currency, fields.at(key)), negative: isNegativeAmount(value) };
}

export interface LineItemKeys {
  /** Candidate product id keys, preferred first. */
  readonly productId: readonly [string, ...string[]];
  readonly price: string;
  readonly priceMinor: string | null;
}

/** One line as the source gave it, for a total summed from the lines. */
interface SummedLine {
  /** Its index in the source's list (for errors: `lineItems[1].currency`). */
  readonly index: number;
  readonly quantity: number;
  readonly unitPriceMinor: number;
  readonly currency: string;
  /**
   * -1 when the source signed the line negative (a negative quantity or a negative price, not
   * both: a discount or coupon line, an item taken back in an exchange, every line of a till
   * that signs returns), else 1.
   */
  readonly sign: 1 | -1;
}

/** Line items as read: the touchpoint's (magnitudes, each with a product id), and every line for a sum. */
export interface LineItems {
  readonly items: LineItem[];
  /** Every line, those without a product id too (kept in properties, not in `items`). */
  readonly lines: readonly SummedLine[];
}

/**
 * The line items of list `key`; a missing quantity counts as 1 (the convention of e-commerce
 * trackers). A line without a product id (none of `keys.productId`: an open-price item, a
 * Segment product with only a name, which Segment's spec allows) is no line item of the
 * touchpoint, whose line items name their product: it stays whole in properties
 * (`products[1].name`, `products[1].price`), and its amount still counts in a total summed
 * from the lines. Before 2026-12-07 it failed the event (SCHEMA_VIOLATION `productId: is
 * required`). Its amount is read all the same: a line without a price fails the event.
 */
export function readLineItems(fields: Fields, key: string, currency: string, keys: LineItemKeys): LineItems {
  const items: LineItem[] = [];
  const lines: SummedLine[] = [];
  for (const [index, raw] of fields.items(key).entries()) {
    // An item with no product id is read from a copy of its own, and left whole in properties.
    const listed = !isRecord(raw) || keys.productId.some((candidate) => hasValue(raw[candidate]));
    const item = listed ? fields.itemObject(key, index) : Fields.of(raw, `${fields.at(key)}[${index}]`);
    const productId = listed ? item.firstString(...keys.productId) : null;
    const name = item.optString('name');
    const category = item.optString('category');
    const signedQuantity = item.optInt('quantity', -2147483647, 2147483647) ?? 1;
    const statedCurrency = item.optString('currency');
    const itemCurrency = statedCurrency === null ? currency : parseCurrency(statedCurrency, item.at('currency'));
    const price = readSignedAmount(item, keys.price, keys.priceMinor, itemCurrency);
    if (price === null) throw schemaViolation(item.at(keys.price), 'is required');
    const unitPriceMinor = price.minor;
    const quantity = Math.abs(signedQuantity);
    lines.push({ index, quantity, unitPriceMinor, currency: itemCurrency, sign: signedQuantity < 0 !== price.negative ? -1 : 1 });
    if (productId === null) fields.leaveItem(key, index);
    else items.push({ productId, name, category, quantity, unitPriceMinor, currency: itemCurrency });
  }
  return { items, lines };
}

/**
 * Sum of line items, for sources that report no total; null when there are none. Every item
 * must be in the order's `currency`: minor units of different currencies do not add up (1000
 * JPY and 1.50 EUR are not 11.50 EUR), and converting would take an exchange rate and a date
 * Elephant does not have.
 * Items in other currencies are fine when the source states the total itself.
 * @param path the line items' path (`lineItems`), for errors: `lineItems[1].currency`
 * @throws SCHEMA_VIOLATION for an item in another currency, or a sum over MAX_AMOUNT_MINOR
 */
export function lineItemsTotal({ lines }: LineItems, currency: string, path: string): number | null {
  if (lines.length === 0) return null;
  const other = lines.find((line) => line.currency !== currency);
  if (other !== undefined) {
    throw schemaViolation(`${path}[${other.index}].currency`, `is ${other.currency}, not the order's ${currency}: line items in another currency cannot be summed (state the order's total)`);
  }
  // Signed, then a magnitude: a €20 item and a −€5 coupon line are €15 (before 2026-12-07 the
  // magnitudes were added, €25); the event's kind says which way the money went.
  const total = lines.reduce((sum, line) => sum + line.sign * line.quantity * line.unitPriceMinor, 0);
  if (!Number.isSafeInteger(total) || Math.abs(total) > MAX_AMOUNT_MINOR) throw schemaViolation(path, `sum of line items is too large (over ${MAX_AMOUNT_MINOR} minor units)`);
  return Math.abs(total);
}
