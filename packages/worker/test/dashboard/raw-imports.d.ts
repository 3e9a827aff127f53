/** Vite's `?raw` imports (a file's text), used by the dashboard config tests. */
declare module '*?raw' {
  const text: string;
  export default text;
}
