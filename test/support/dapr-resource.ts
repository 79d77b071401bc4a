/** The shape of a Dapr resource file's documents, as the tests of dapr-components/ read them. */
export interface MetadataItem {
  name: string;
  value?: unknown;
  envRef?: string;
  secretKeyRef?: { name: string; key?: string };
}

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown> & { metadata?: MetadataItem[] };
  auth?: { secretStore?: string };
  scopes?: string[];
}
