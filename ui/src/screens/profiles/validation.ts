// Checks on a new connection profile before it is sent; the backend checks again and
// has the last word (it also knows which names exist on disk).

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

export function profileNameError(name: string, existing: readonly string[]): string | null {
  const trimmed = name.trim();
  if (!trimmed) return "Give the profile a name";
  if (!PROFILE_NAME.test(trimmed)) return "Letters, digits, - and _ only (up to 64), starting with a letter or digit";
  if (existing.some((other) => other.toLowerCase() === trimmed.toLowerCase()))
    return `A profile named “${trimmed}” already exists`;
  return null;
}

export function hostError(host: string): string | null {
  const trimmed = host.trim();
  if (!trimmed) return "Enter the database server's host name or IP address";
  if (trimmed.length > 253) return "A host name has at most 253 characters";
  if (/[\s/@?#]/.test(trimmed) || trimmed.includes("://"))
    return "Enter only the host name (no scheme, user, path or spaces)";
  if (IPV4.test(trimmed)) return null;
  const bracketed = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed;
  if (bracketed.includes(":")) return IPV6.test(bracketed) ? null : "This is not a valid IPv6 address";
  if (/^[\d.]+$/.test(trimmed)) return "This is not a valid IPv4 address";
  const labels = trimmed.replace(/\.$/, "").split(".");
  if (labels.every((label) => HOST_LABEL.test(label))) return null;
  return "This is not a valid host name";
}

export function portError(port: number | string): string | null {
  const value = typeof port === "number" ? port : Number(port.trim());
  if (typeof port === "string" && !port.trim()) return "Enter a port (PostgreSQL's default is 5432)";
  if (!Number.isInteger(value) || value < 1 || value > 65535) return "The port must be a whole number from 1 to 65535";
  return null;
}

export function requiredError(label: string) {
  return (value: string): string | null => (value.trim() ? null : `Enter the ${label}`);
}
