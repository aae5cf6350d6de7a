import { z } from 'zod';
import { lossyExtensions } from '../onlyoffice/formats.js';

const httpUrlOrEmpty = z
  .string({ message: 'expected text' })
  .trim()
  .refine((value) => value === '' || /^https?:\/\/[^\s/?#]+[^\s]*$/.test(value), {
    message: 'must be an http:// or https:// address',
  })
  .transform((value) => value.replace(/\/+$/, ''));

/** Everything on the settings page, as stored (the JWT secret included, never shown). */
export const storedSettingsSchema = z.object({
  documentServerUrl: httpUrlOrEmpty.default(''),
  documentServerInternalUrl: httpUrlOrEmpty.default(''),
  connectorInternalUrl: httpUrlOrEmpty.default(''),
  jwtSecret: z.string().max(1024, 'must be at most 1024 characters').default(''),
  jwtHeader: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name (letters, digits and dashes)')
    .default('Authorization'),
  verifyTls: z.boolean().default(true),
  editableLossyFormats: z
    .array(z.enum(lossyExtensions as [string, ...string[]], { message: `must be among ${lossyExtensions.join(', ')}` }))
    .default([]),
  coEditingMode: z.enum(['fast', 'strict'], { message: 'must be fast or strict' }).default('fast'),
  coEditingChangeable: z.boolean().default(true),
  forceSave: z.boolean().default(false),
  chat: z.boolean().default(true),
  comments: z.boolean().default(true),
  help: z.boolean().default(true),
  feedback: z.boolean().default(false),
  compactHeader: z.boolean().default(false),
  reviewDisplay: z.enum(['original', 'markup', 'simple', 'final'], { message: 'must be original, markup, simple or final' }).default('original'),
  openInNewTab: z.boolean().default(false),
  recheckIntervalMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
  checkpointRetention: z.number().int().min(0).max(1000).default(20),
  convertOnUpload: z.boolean().default(false),
});

export type StoredSettings = z.output<typeof storedSettingsSchema>;
export type SettingName = keyof StoredSettings;

/** How this DMS and the Document Server reach each other, and the editor behaviour admins chose. */
export interface DocumentServerSettings {
  /** The Document Server as browsers see it. */
  publicUrl: string;
  /** The Document Server as this server reaches it. */
  internalUrl: string;
  /** This DMS as the Document Server reaches it. */
  connectorUrl: string;
  jwtSecret?: string;
  jwtHeader: string;
  verifyTls: boolean;
  editableLossyFormats: string[];
  coEditing: { mode: 'fast' | 'strict'; change: boolean };
  forceSave: boolean;
  customization: {
    chat: boolean;
    comments: boolean;
    help: boolean;
    feedback: boolean;
    compactHeader: boolean;
    reviewDisplay: 'original' | 'markup' | 'simple' | 'final';
  };
  openInNewTab: boolean;
  /** How many checkpoint versions to keep per file (0 = all). */
  checkpointRetention: number;
  /** Whether uploads of formats that cannot be edited as they are convert to OOXML unless the uploader says otherwise. */
  convertOnUpload: boolean;
}

/** The connection and editor settings that follow from the effective values, or undefined without a DS address. */
export function toDocumentServerSettings(values: StoredSettings, dmsPublicUrl: string): DocumentServerSettings | undefined {
  if (!values.documentServerUrl) return undefined;
  return {
    publicUrl: values.documentServerUrl,
    internalUrl: values.documentServerInternalUrl || values.documentServerUrl,
    connectorUrl: values.connectorInternalUrl || dmsPublicUrl,
    jwtSecret: values.jwtSecret || undefined,
    jwtHeader: values.jwtHeader,
    verifyTls: values.verifyTls,
    editableLossyFormats: values.editableLossyFormats,
    coEditing: { mode: values.coEditingMode, change: values.coEditingChangeable },
    forceSave: values.forceSave,
    customization: {
      chat: values.chat,
      comments: values.comments,
      help: values.help,
      feedback: values.feedback,
      compactHeader: values.compactHeader,
      reviewDisplay: values.reviewDisplay,
    },
    openInNewTab: values.openInNewTab,
    checkpointRetention: values.checkpointRetention,
    convertOnUpload: values.convertOnUpload,
  };
}
