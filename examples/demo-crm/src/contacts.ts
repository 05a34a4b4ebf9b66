/**
 * The demo CRM's records: a handful of contacts kept in memory, and the index a caller-id lookup needs. Numbers are
 * stored the way people typed them (the card shows that); only the index works on digits.
 */
import { numberKey, sameLine } from './phone-numbers.js';

export interface PhoneNumber {
  readonly label: string;
  /** As entered: spaces, dashes, brackets, a domestic prefix — whatever the CRM's users wrote. */
  readonly number: string;
}

export interface Contact {
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly title?: string | undefined;
  readonly email?: string | undefined;
  readonly city?: string | undefined;
  readonly phones: readonly PhoneNumber[];
  readonly notes: readonly string[];
}

export interface Operator {
  readonly id: string;
  readonly name: string;
  readonly extension: string;
}

/** Fictional people and numbers (the UK and US ones are from the ranges reserved for drama). */
export const SEED_CONTACTS: readonly Contact[] = [
  {
    id: '1001',
    name: 'Irina Sokolova',
    company: 'Volga Logistics',
    title: 'Head of Procurement',
    email: 'i.sokolova@volga-logistics.example',
    city: 'Moscow',
    phones: [
      { label: 'work', number: '+7 (495) 123-45-67' },
      { label: 'mobile', number: '8 912 345-67-89' },
    ],
    notes: ['Renews the warehouse contract every March; prefers calls before noon.', 'Asked for a quote on 40 pallet places.'],
  },
  {
    id: '1002',
    name: 'Dmitry Petrov',
    company: 'Petrov & Partners',
    title: 'Managing Partner',
    email: 'petrov@petrov-partners.example',
    city: 'Saint Petersburg',
    phones: [{ label: 'office', number: '+7 812 555-01-23' }],
    notes: ['Legal review of the framework agreement is with him.'],
  },
  {
    id: '1003',
    name: 'Grace Whitfield',
    company: 'Harbor Analytics Ltd',
    title: 'Operations Director',
    email: 'grace@harbor-analytics.example',
    city: 'London',
    phones: [
      { label: 'office', number: '+44 20 7946 0958' },
      { label: 'mobile', number: '+44 7700 900123' },
    ],
    notes: ['Trial ends on the 30th; wants a call about the annual plan.'],
  },
  {
    id: '1004',
    name: 'Lukas Becker',
    company: 'Becker Maschinenbau GmbH',
    title: 'Purchasing',
    email: 'l.becker@becker-mb.example',
    city: 'Berlin',
    phones: [{ label: 'office', number: '+49 30 12345678' }],
    notes: ['Speaks English and German; invoices in EUR.'],
  },
  {
    id: '1005',
    name: 'Amelia Chen',
    company: 'Northwind Traders',
    title: 'VP Sales',
    email: 'amelia.chen@northwind.example',
    city: 'San Francisco',
    phones: [{ label: 'office', number: '+1 (415) 555-0142' }],
    notes: ['Time zone UTC-8: call after 17:00 Moscow time.'],
  },
  {
    id: '1006',
    name: 'Olga Ivanova',
    company: 'Siberian Timber',
    title: 'Chief Accountant',
    email: 'o.ivanova@sibtimber.example',
    city: 'Novosibirsk',
    phones: [
      { label: 'office', number: '+7 383 210-33-44' },
      { label: 'mobile', number: '8 (923) 100-20-30' },
    ],
    notes: ['Needs closing documents by the 5th of each month.'],
  },
  {
    id: '1007',
    name: 'Marco Rossi',
    company: 'Rossi Design Studio',
    title: 'Founder',
    email: 'marco@rossi-design.example',
    city: 'Milan',
    phones: [{ label: 'studio', number: '+39 02 1234 5678' }],
    notes: ['Interested in the showroom package.'],
  },
  {
    id: '1008',
    name: 'Aigerim Nurlanovna',
    company: 'Steppe Telecom',
    title: 'Network Planning',
    email: 'a.nurlanovna@steppe-telecom.example',
    city: 'Almaty',
    phones: [{ label: 'office', number: '+7 727 250 11 22' }],
    notes: ['Kazakhstan shares the +7 country code with Russia.'],
  },
];

export type LookupMatch = { readonly kind: 'contact'; readonly contact: Contact } | { readonly kind: 'colleague'; readonly operator: Operator };

export class ContactBook {
  readonly #contacts: ReadonlyMap<string, Contact>;
  readonly #operators: readonly Operator[];
  /** Digits of every stored number, with its owner; built once, since the demo's records never change. */
  readonly #index: readonly { key: string; contact: Contact }[];

  constructor(contacts: readonly Contact[], operators: readonly Operator[]) {
    this.#contacts = new Map(contacts.map((c) => [c.id, c]));
    this.#operators = operators;
    this.#index = contacts.flatMap((contact) =>
      contact.phones.flatMap((phone) => {
        const key = numberKey(phone.number);
        return key === undefined ? [] : [{ key, contact }];
      }),
    );
  }

  list(): readonly Contact[] {
    return [...this.#contacts.values()].sort((a, b) => a.name.localeCompare(b.name, 'en'));
  }

  get(id: string): Contact | undefined {
    return this.#contacts.get(id);
  }

  operators(): readonly Operator[] {
    return this.#operators;
  }

  operator(id: string): Operator | undefined {
    return this.#operators.find((o) => o.id === id);
  }

  /** Who has this number: a colleague's extension first (exact), then contacts; `key` is from `numberKey`. */
  find(key: string): LookupMatch | undefined {
    const operator = this.#operators.find((o) => o.extension === key);
    if (operator !== undefined) return { kind: 'colleague', operator };
    const exact = this.#index.find((entry) => entry.key === key);
    const entry = exact ?? this.#index.find((e) => sameLine(e.key, key));
    return entry === undefined ? undefined : { kind: 'contact', contact: entry.contact };
  }
}
