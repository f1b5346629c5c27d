/**
 * The shared bounded reader (constructs/fleet/input-file.ts) and the message helpers (quote.ts): what is read,
 * what is refused before a byte is read, and how input values appear in messages.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  checkInputFile,
  clipLine,
  firstInvalidUtf8,
  formatBytes,
  InputFileError,
  MAX_INPUT_FILE_BYTES,
  quote,
  quoteKey,
  readInputFile,
} from '../constructs/fleet';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-input-'));
const file = (name: string, content: string | Buffer): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

function refusal(fn: () => unknown): InputFileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputFileError);
    return e as InputFileError;
  }
  throw new Error('expected an InputFileError');
}

describe('readInputFile', () => {
  test('reads a regular file and a symbolic link to one, dropping a UTF-8 byte-order mark', () => {
    const p = file('a.yaml', '\ufeffname: x\n');
    expect(readInputFile(p)).toBe('name: x\n');
    fs.symlinkSync(p, path.join(dir, 'link.yaml'));
    expect(readInputFile(path.join(dir, 'link.yaml'))).toBe('name: x\n');
  });

  test('the limit is 16 MiB, and a file of exactly the limit is read', () => {
    expect(MAX_INPUT_FILE_BYTES).toBe(16 * 1024 * 1024);
    expect(readInputFile(file('ten.txt', '0123456789'), { maxBytes: 10 })).toBe('0123456789');
  });

  test('fails on a file one byte over the limit, naming the sizes', () => {
    const e = refusal(() => readInputFile(file('eleven.txt', '0123456789A'), { maxBytes: 10, what: 'FLEET' }));
    expect(e.problems).toEqual([
      `FLEET ${JSON.stringify(path.join(dir, 'eleven.txt'))}: is 11 bytes, more than the 10 bytes gpufleet reads from an input file`,
    ]);
  });

  (fs.existsSync('/proc/self/status') ? test : test.skip)(
    'fails on a /proc file (it reports size 0) past the limit after limit + 1 bytes',
    () => {
      expect(readInputFile('/proc/self/status')).toMatch(/^Name:/);
      const e = refusal(() => readInputFile('/proc/self/status', { maxBytes: 16 }));
      expect(e.reason).toBe('is more than the 16 bytes gpufleet reads from an input file');
    },
  );

  test('fails on a missing file, a directory and a path through a file, each in words', () => {
    expect(refusal(() => readInputFile(path.join(dir, 'none.yaml'))).reason).toBe('cannot read the file (no such file)');
    expect(refusal(() => readInputFile(dir)).reason).toBe('is a directory, expected a file');
    expect(refusal(() => readInputFile(path.join(file('f.txt', 'x'), 'child'))).reason).toBe(
      'cannot read the file (a part of the path is not a folder)',
    );
    expect(refusal(() => readInputFile('a\0b')).reason).toBe('cannot read the file (the path contains a NUL character)');
  });

  (process.platform !== 'win32' ? test : test.skip)('fails on devices before reading them', () => {
    expect(refusal(() => readInputFile('/dev/zero')).reason).toBe(
      'is a character device, not a regular file; gpufleet reads only regular files',
    );
    expect(refusal(() => readInputFile('/dev/null')).reason).toMatch(/is a character device/);
  });

  test('fails on bytes that are not UTF-8, naming the first bad byte', () => {
    const bad = (bytes: number[]) => refusal(() => readInputFile(file('bad.txt', Buffer.from([0x61, 0x62, ...bytes])))).reason;
    expect(bad([0xff])).toBe('is not UTF-8 text (invalid byte sequence at byte 2)');
    expect(bad([0xc0, 0x80])).toMatch(/at byte 2\)$/); // overlong NUL
    expect(bad([0xed, 0xa0, 0x80])).toMatch(/at byte 2\)$/); // a UTF-16 surrogate
    expect(bad([0xe2, 0x82])).toMatch(/at byte 2\)$/); // cut off at the end
    expect(firstInvalidUtf8(Buffer.from('héllo ✓ 🐳', 'utf8'))).toBe(-1);
    // the text is decoded first and the bytes checked when it holds U+FFFD: a bad byte after a byte-order mark, or
    // beside a U+FFFD written in the file, is still refused; a U+FFFD written in the file (EF BF BD) is text
    expect(refusal(() => readInputFile(file('bom-bad.txt', Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0xff])))).reason).toBe(
      'is not UTF-8 text (invalid byte sequence at byte 4)',
    );
    expect(bad([0xef, 0xbf, 0xbd, 0x80])).toBe('is not UTF-8 text (invalid byte sequence at byte 5)');
    expect(readInputFile(file('fffd.txt', Buffer.from([0x61, 0xef, 0xbf, 0xbd, 0x62])))).toBe('a\uFFFDb');
  });

  test('checkInputFile checks type and size without reading', () => {
    expect(checkInputFile(file('ok.yaml', 'x'))).toBeUndefined();
    expect(checkInputFile(dir, { what: 'gpufleet:fleetFile' })?.message).toBe(
      `gpufleet:fleetFile ${JSON.stringify(dir)}: is a directory, expected a file`,
    );
  });

  test('formatBytes', () => {
    expect([300, 1536, 17 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual(['300 bytes', '1.5 KiB', '17 MiB', '3 GiB']);
  });
});

describe('quote', () => {
  test('strings JSON-quoted; longer than 100 characters cut with the length', () => {
    expect(quote('Ads_Team')).toBe('"Ads_Team"');
    expect(quote('a\nb\u001b[31m')).toBe('"a\\nb\\u001b[31m"');
    expect(quote('x'.repeat(100))).toBe(`"${'x'.repeat(100)}"`);
    expect(quote('x'.repeat(5_000_000))).toBe(`"${'x'.repeat(100)}…" (5000000 characters)`);
    expect(quote(`${'x'.repeat(99)}🐳tail`)).toBe(`"${'x'.repeat(99)}…" (105 characters)`); // a surrogate pair is not split
  });

  test('other values', () => {
    expect([-5, NaN, Infinity, true, null, undefined, [1, 2, 3], { a: 1 }, 10n].map((v) => quote(v))).toEqual([
      '-5',
      'NaN',
      'Infinity',
      'true',
      'null',
      'nothing',
      'a list of 3',
      'an object',
      '10n',
    ]);
  });

  test('quoteKey keeps identifiers and quotes anything else', () => {
    expect(quoteKey('colour')).toBe('colour');
    expect(quoteKey('a b')).toBe('["a b"]');
    expect(quoteKey('k'.repeat(1000))).toBe(`["${'k'.repeat(100)}…" (1000 characters)]`);
  });

  test('clipLine escapes control characters and bounds a line', () => {
    expect(clipLine('a\nb\tc\u0007')).toBe('a\\nb\tc\\u0007');
    const line = clipLine(`models[0].name: got ${'y'.repeat(10_000)}`);
    expect(line.length).toBeLessThan(450);
    expect(line).toMatch(/… \(9620 more characters\)$/);
  });
});
