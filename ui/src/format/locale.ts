// The viewer's locale for every number, money and date format. Under the POSIX "C"
// locale (servers, CI, a bare LANG=C.UTF-8) WebKit reports "c", which formats money as
// "$ 99.00"; a real locale tag is used as is, anything else falls back to en-US.
const reported = typeof navigator === "undefined" ? "" : navigator.language;

export const LOCALE = /^[a-z]{2,3}(-[a-z0-9]+)*$/i.test(reported) && reported.toLowerCase() !== "c" ? reported : "en-US";

/** Thousands-separated whole numbers. */
export const numbers = new Intl.NumberFormat(LOCALE);
