// Safe for the dashboard bundle, which must not pull zod in: it imports only the zod-free gastown-error.
import { GastownError } from './gastown-error';

/** Fill `:param` placeholders of a route. Every value must already be a validated id. */
export function routePath(template: string, params: Record<string, string>): string {
  return template.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new GastownError('internal', `missing route parameter ${name}`);
    return encodeURIComponent(value);
  });
}
