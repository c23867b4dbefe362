import { describe, expect, it } from 'vitest';
import { modelSchema, optimizerSchema } from '../../../core/spec';
import { MODEL_PRESETS, OPTIMIZER_FIELDS, OPTIMIZER_KINDS, presetOf } from '../../../renderer/src/lib/sweep-form';

describe('OPTIMIZER_FIELDS', () => {
  // An empty field removes its key, so the placeholder must show the value the schema fills in.
  const cases = OPTIMIZER_KINDS.flatMap((kind) => OPTIMIZER_FIELDS[kind].filter((field) => field.kind !== 'checkbox').map((field) => [kind, field.key, field.placeholder] as const));

  it.each(cases)('%s %s placeholder is the default', (kind, key, placeholder) => {
    const defaults = optimizerSchema.parse({ kind }) as Record<string, unknown>;
    expect(placeholder).toBe(String(defaults[key]));
  });

  it('covers every optimizer kind of the schema', () => {
    const schemaKinds = optimizerSchema.options.map((option) => option.shape.kind.value);
    expect([...OPTIMIZER_KINDS].sort()).toEqual([...schemaKinds].sort());
  });
});

describe('presetOf', () => {
  it('maps schema defaults to default preset', () => {
    expect(presetOf(modelSchema.parse({}))).toBe('default');
  });

  it('returns null for a custom size', () => {
    expect(presetOf({ ...MODEL_PRESETS.small, dModel: 48 })).toBeNull();
  });
});
