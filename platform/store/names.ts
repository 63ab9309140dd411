/** Names are matched case-insensitively: the blind index is computed over this form. */
export function normaliseName(name: string): string {
  return name.normalize('NFC').trim().toLowerCase()
}

export function normaliseEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase()
}
