import type { Config } from '../config.js';

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
  /** Lossy formats (odt, csv, …) admins allow to be edited in place. */
  editableLossyFormats: string[];
}

/** The effective settings, or undefined while no Document Server address is configured. */
export function resolveDocumentServerSettings(config: Config): DocumentServerSettings | undefined {
  const ds = config.documentServer;
  if (!ds.publicUrl) return undefined;
  return {
    publicUrl: ds.publicUrl,
    internalUrl: ds.internalUrl ?? ds.publicUrl,
    connectorUrl: ds.connectorInternalUrl ?? config.publicUrl,
    jwtSecret: ds.jwtSecret,
    jwtHeader: ds.jwtHeader,
    editableLossyFormats: [],
  };
}
