/** Where a command writes: stdout for data, stderr for notes and errors; JSON or text; colours. */
import { paint, shouldUseColour, type Colour } from './colour';

export interface WritableLike {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export class Output {
  readonly colour: boolean;
  readonly #stdout: WritableLike;
  readonly #stderr: WritableLike;
  readonly #stderrColour: boolean;

  constructor(stdout: WritableLike, stderr: WritableLike, env: Readonly<Record<string, string | undefined>>) {
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.colour = shouldUseColour(Boolean(stdout.isTTY), env);
    this.#stderrColour = shouldUseColour(Boolean(stderr.isTTY), env);
  }

  /** A line of data on stdout. */
  line(text = ''): void {
    this.#stdout.write(`${text}\n`);
  }

  /** Raw text on stdout (streaming). */
  write(text: string): void {
    this.#stdout.write(text);
  }

  /** Pretty JSON on stdout (--json). */
  json(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON value per line on stdout (streams under --json). */
  jsonLine(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A note or an error on stderr. */
  note(text: string, colour?: Colour): void {
    this.#stderr.write(`${paint(text, colour, this.#stderrColour)}\n`);
  }

  paint(text: string, colour: Colour | null | undefined): string {
    return paint(text, colour, this.colour);
  }
}
