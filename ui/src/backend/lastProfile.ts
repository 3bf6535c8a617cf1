// The last profile used, so the next start goes straight to its sign-in. Only the
// profile's name is kept (no secrets, no personal data).
const KEY = "penguin-admin.last-profile";

export function rememberedProfile(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function rememberProfile(name: string): void {
  try {
    localStorage.setItem(KEY, name);
  } catch {
    // Storage can be unavailable (private mode); the profile list is one click away.
  }
}
