import { formatClock } from "../../format/time";

// UTC timestamps inside a backend message: "2026-11-22T14:05:00Z",
// "2026-11-22 14:05:00.123 UTC" (optionally followed by a redundant "(UTC)").
const UTC_TIMESTAMP = /(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:Z| UTC|([+-]\d{2}:?\d{2}))(?: \(UTC\))?/g;

function toIso(date: string, time: string, offset: string | undefined): string {
  return `${date}T${time}${offset ?? "Z"}`;
}

/** Rewrites the timestamps in a message as HH:MM in the viewer's timezone. */
export function localizeTimes(message: string): string {
  return message.replace(UTC_TIMESTAMP, (whole, date: string, time: string, offset: string | undefined) =>
    `${formatClock(toIso(date, time, offset), whole)} (your time)`,
  );
}
