import { describe, expect, it } from 'vitest';
import { extensionOf, firstFreeName, splitExtension, validateName } from '../src/domain/names.js';

describe('validateName', () => {
  it('trims and normalises a good name', () => {
    expect(validateName('  Report.docx ')).toBe('Report.docx');
    expect(validateName('Cafe\u0301.txt')).toBe('Café.txt');
  });

  it.each([
    [42, 'must be text'],
    ['   ', 'must not be empty'],
    ['.', 'not allowed'],
    ['a/b', 'path separator (/)'],
    ['a\\b', 'path separator (\\)'],
    ['tab\there', 'control character'],
    ['nul\u0000', 'control character'],
    ['é'.repeat(128), '256 bytes'],
  ])('refuses %j (%s)', (name, message) => {
    expect(() => validateName(name)).toThrow(message);
  });

  it('accepts exactly 255 bytes', () => {
    expect(validateName('a'.repeat(250) + '.docx')).toHaveLength(255);
  });
});

describe('firstFreeName', () => {
  it('counts up before the extension until a name is free', () => {
    const taken = new Set(['a.txt', 'a (1).txt']);
    expect(firstFreeName('a.txt', (name) => taken.has(name))).toBe('a (2).txt');
    expect(firstFreeName('b.txt', (name) => taken.has(name))).toBe('b.txt');
  });

  it('keeps the result within 255 bytes', () => {
    const long = 'x'.repeat(250) + '.docx';
    const free = firstFreeName(long, (name) => name === long);
    expect(Buffer.byteLength(free)).toBeLessThanOrEqual(255);
    expect(free.endsWith(' (1).docx')).toBe(true);
  });
});

describe('extensions', () => {
  it('splits on the last dot and treats dotfiles as having none', () => {
    expect(splitExtension('a.b.docx')).toEqual({ stem: 'a.b', extension: '.docx' });
    expect(splitExtension('.env')).toEqual({ stem: '.env', extension: '' });
    expect(extensionOf('REPORT.DOCX')).toBe('docx');
    expect(extensionOf('README')).toBe('');
  });
});
