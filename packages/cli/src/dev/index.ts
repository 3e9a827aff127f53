/**
 * Placeholder for `gastown dev` (the local stack). Another engineer owns this module and
 * replaces it with the real implementation.
 */
export async function runDev(_args: string[]): Promise<number> {
  throw new Error('gastown dev is not yet available');
}
