/**
 * The hidden prompt: raw mode on while reading, nothing echoed but the prompt and a newline,
 * backspace edits, Ctrl-C stops; the line prompt for the destroy confirmation.
 */
import { EventEmitter } from "events";
import { PassThrough } from "stream";
import { PromptInterrupted, readHidden, readLine, type RawInput } from "../../tools/terminal";

/** A TTY-like input the test types into. */
class FakeTty extends EventEmitter implements RawInput {
  isRaw = false;
  rawModes: boolean[] = [];
  setRawMode(mode: boolean) {
    this.isRaw = mode;
    this.rawModes.push(mode);
  }
  setEncoding() {}
  resume() {}
  pause() {}
  type(text: string) {
    this.emit("data", text);
  }
}

function output() {
  let written = "";
  return { write: (text: string) => (written += text), text: () => written };
}

test("reads what is typed without echoing it, in raw mode, restored afterwards", async () => {
  const input = new FakeTty();
  const out = output();
  const answer = readHidden("Passphrase: ", input, out);
  input.type("hun");
  input.type("ter2\r");
  expect(await answer).toBe("hunter2");
  expect(out.text()).toBe("Passphrase: \n");
  expect(input.rawModes).toEqual([true, false]);
  expect(input.listenerCount("data")).toBe(0);
});

test("backspace removes the last character; arrow keys are ignored", async () => {
  const input = new FakeTty();
  const answer = readHidden("p: ", input, output());
  input.type("abcx\u007f");
  input.type("\u001b[D");
  input.type("d\n");
  expect(await answer).toBe("abcd");
});

test("Ctrl-C stops with PromptInterrupted and leaves raw mode", async () => {
  const input = new FakeTty();
  const answer = readHidden("p: ", input, output());
  input.type("ab\u0003");
  await expect(answer).rejects.toBeInstanceOf(PromptInterrupted);
  expect(input.isRaw).toBe(false);
});

test("Ctrl-D on an empty line stops too", async () => {
  const input = new FakeTty();
  const answer = readHidden("p: ", input, output());
  input.type("\u0004");
  await expect(answer).rejects.toThrow(/end of input at the prompt/);
});

test("readLine returns the typed line; end of input rejects", async () => {
  const input = new PassThrough();
  const out = new PassThrough();
  const answer = readLine("Type the stack name: ", input, out);
  input.write("dev\n");
  expect(await answer).toBe("dev");

  const closed = new PassThrough();
  const none = readLine("Type: ", closed, new PassThrough());
  closed.end();
  await expect(none).rejects.toBeInstanceOf(PromptInterrupted);
});
