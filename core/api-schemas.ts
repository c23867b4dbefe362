/** Schemas of `Api` arguments that both the Service and the transports validate. */
import { z } from 'zod';

export const experimentPatchSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  notes: z.string().max(100_000).optional(),
  tags: z.array(z.string().min(1).max(64)).max(64).optional(),
  archived: z.boolean().optional(),
});
