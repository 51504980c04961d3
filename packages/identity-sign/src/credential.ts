import {
  PROOF_AUTH_SCHEME,
  WIT_PAYLOAD_FIELD,
  WORKLOAD_IDENTITY_TOKEN_HEADER,
  WORKLOAD_PROOF_TOKEN_HEADER,
  withSignedPayload,
} from '@nhi-dns/core';

/** Field of an invoke payload or EventBridge detail that carries the WIT beside `nhiProof` (core's). */
export { WIT_PAYLOAD_FIELD };
/** Message attribute that carries the proof on SQS and SNS (DESIGN §3, "Transports"). */
export const PROOF_MESSAGE_ATTRIBUTE = 'nhiProof';
/** Message attribute that carries the WIT on SQS and SNS, beside `nhiProof`: the field's name. */
export const WIT_MESSAGE_ATTRIBUTE = WIT_PAYLOAD_FIELD;

/**
 * What one signature produces. A key from Secrets Manager (or given directly) makes one NHI1
 * proof; a KMS key makes a workload proof token (`proof`) bound to the workload identity token
 * (`wit`) it must travel with.
 */
export type SignedCredential =
  | { readonly kind: 'proof'; readonly proof: string }
  | { readonly kind: 'workload'; readonly wit: string; readonly proof: string };

/** HTTP headers of a credential, lower case as Lambda's HTTP events name them. */
export type CredentialHeaders =
  | { readonly authorization: string }
  | {
      readonly [WORKLOAD_IDENTITY_TOKEN_HEADER]: string;
      readonly [WORKLOAD_PROOF_TOKEN_HEADER]: string;
    };

/** Headers a signed request must not already have: each would be a second credential. */
export const CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  WORKLOAD_IDENTITY_TOKEN_HEADER,
  WORKLOAD_PROOF_TOKEN_HEADER,
];

/**
 * The HTTP headers of `credential`: `Authorization: NHI <proof>`, or the pair
 * `Workload-Identity-Token` + `Workload-Proof-Token`.
 */
export const credentialHeaders = (credential: SignedCredential): CredentialHeaders =>
  credential.kind === 'proof'
    ? { authorization: `${PROOF_AUTH_SCHEME} ${credential.proof}` }
    : {
        [WORKLOAD_IDENTITY_TOKEN_HEADER]: credential.wit,
        [WORKLOAD_PROOF_TOKEN_HEADER]: credential.proof,
      };

/**
 * The envelope of an invoke payload or EventBridge detail: `{ nhiProof, nhiPayload }`, or
 * `{ nhiWit, nhiProof, nhiPayload }` for a workload credential; `nhiPayload` is `payload` as is.
 */
export const credentialEnvelope = (payload: string, credential: SignedCredential): Record<string, string> => {
  const envelope = withSignedPayload(payload, credential.proof);
  return credential.kind === 'proof' ? { ...envelope } : { [WIT_PAYLOAD_FIELD]: credential.wit, ...envelope };
};

/** Message attributes (SQS and SNS shape) that carry `credential`. */
export const credentialAttributes = (
  credential: SignedCredential,
): Record<string, { DataType: 'String'; StringValue: string }> => {
  const proof = { [PROOF_MESSAGE_ATTRIBUTE]: { DataType: 'String' as const, StringValue: credential.proof } };
  return credential.kind === 'proof'
    ? proof
    : { [WIT_MESSAGE_ATTRIBUTE]: { DataType: 'String', StringValue: credential.wit }, ...proof };
};
