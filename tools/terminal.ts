/**
 * Questions asked on the terminal: a line (the destroy confirmation) and a secret read without
 * echo (the passphrase). Prompts go to stderr so that stdout stays the command's output.
 */
import * as readline from "readline";
import { DeployError } from "./engineError";

export interface Terminal {
  /** stdin is a terminal: questions can be asked. */
  readonly interactive: boolean;
  readLine(prompt: string): Promise<string>;
  /** Reads a line without showing what is typed. */
  readHidden(prompt: string): Promise<string>;
}

/** The user pressed Ctrl-C or Ctrl-D at a prompt. */
export class PromptInterrupted extends DeployError {
  constructor(what: string) {
    super(`${what} at the prompt: stopped, nothing was done`);
    this.name = "PromptInterrupted";
  }
}

/** The parts of a TTY read stream a hidden prompt needs. */
export interface RawInput {
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: "data", listener: (chunk: string) => void): unknown;
  removeListener(event: "data", listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface TextOutput {
  write(text: string): unknown;
}

const ENTER = new Set(["\r", "\n"]);
const CTRL_C = "\u0003";
const CTRL_D = "\u0004";
const BACKSPACE = new Set(["\u007f", "\b"]);
const ESCAPE = "\u001b";

/**
 * Raw mode: every key arrives as typed and nothing is echoed; the prompt and a newline are the
 * only output. Backspace edits, Ctrl-C and Ctrl-D (on an empty line) reject, escape sequences
 * (arrow keys) are ignored.
 */
export function readHidden(prompt: string, input: RawInput, output: TextOutput): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw ?? false;
    let value = "";
    output.write(prompt);
    const finish = (error?: Error): void => {
      input.removeListener("data", onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ENTER.has(ch)) return finish();
        if (ch === CTRL_C) return finish(new PromptInterrupted("Ctrl-C"));
        if (ch === CTRL_D && value === "") return finish(new PromptInterrupted("end of input"));
        if (ch === ESCAPE) return; // the rest of the chunk is the sequence
        if (BACKSPACE.has(ch)) value = Array.from(value).slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    input.setRawMode?.(true);
    input.setEncoding("utf8");
    input.on("data", onData);
    input.resume();
  });
}

export function readLine(
  prompt: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<string> {
  const rl = readline.createInterface({ input, output, terminal: false });
  return new Promise((resolve, reject) => {
    let answered = false;
    rl.once("close", () => {
      if (!answered) reject(new PromptInterrupted("end of input"));
    });
    rl.question(prompt, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

/** The process's own terminal. */
export function processTerminal(): Terminal {
  return {
    interactive: Boolean(process.stdin.isTTY),
    readLine: (prompt) => readLine(prompt, process.stdin, process.stderr),
    readHidden: (prompt) => readHidden(prompt, process.stdin, process.stderr),
  };
}
