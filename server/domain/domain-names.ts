import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_NAME = 253;

export interface DomainName {
  /** As the customer entered it (trimmed, without a final dot); Unicode allowed. */
  name: string;
  /** Its IDNA (punycode) form, lowercase: what DNS, TLS and the edge use. */
  asciiName: string;
}

/**
 * A customer's domain name, checked: refused (with the reason, as a sentence) when it is an
 * IP address, a single label, localhost, a wildcard, under the panel's own base domain, or
 * not a valid host name once converted to its IDNA form.
 */
export function parseDomainName(input: string, baseDomain: string | undefined): DomainName | { refused: string } {
  const name = input.trim().replace(/\.$/, '');
  if (name === '') return { refused: 'the domain name is empty' };
  if (name.includes('*')) return { refused: `${name} is a wildcard; add each name on its own` };
  if (isIP(name.replace(/^\[|\]$/g, ''))) return { refused: `${name} is an IP address; add a domain name` };
  const asciiName = domainToASCII(name).toLowerCase();
  if (asciiName === '') return { refused: `${name} is not a valid domain name` };
  const labels = asciiName.split('.');
  if (labels.length < 2) return { refused: `${name} is a single label; add a full domain name such as www.example.com` };
  if (asciiName.length > MAX_NAME) return { refused: `${name} is longer than DNS allows (253 characters)` };
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) return { refused: `${name} is not a valid domain name: "${bad}" is not a valid label (letters, digits and inner hyphens, up to 63)` };
  if (labels.at(-1) === 'localhost' || asciiName === 'localhost') return { refused: `${name} is a local name` };
  if (/^[0-9]+$/.test(labels.at(-1)!)) return { refused: `${name} is not a valid domain name: its last label is a number` };
  if (baseDomain && (asciiName === baseDomain || asciiName.endsWith(`.${baseDomain}`))) {
    return { refused: `${name} is under ${baseDomain}, where the panel gives environments their own names` };
  }
  return { name, asciiName };
}

/** Where the owner of a name publishes the value that proves control of it. */
export function challengeName(asciiName: string): string {
  return `_kura-challenge.${asciiName}`;
}
