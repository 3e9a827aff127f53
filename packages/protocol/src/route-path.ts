// No imports: safe for the dashboard bundle, which must not pull zod in.
/** Fill `:param` placeholders of a route. Every value must already be a validated id. */
export function routePath(template: string, params: Record<string, string>): string {
  return template.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing route parameter ${name}`);
    return encodeURIComponent(value);
  });
}
