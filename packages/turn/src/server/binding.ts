import { encodeMappedAddress, encodeXorAddress } from "../stun/attributes/xor-address.js";
import { AttributeType, StunClass, StunMethod } from "../stun/constants.js";
import { MessageBuilder, type StunMessage } from "../stun/message.js";

export interface BindingContext {
  /** Where the request came from: what the client is told it looks like from here. */
  from: { address: string; port: number };
  /** The server address that received it (RFC 5780 §7.3 RESPONSE-ORIGIN). */
  local: { address: string; port: number };
  software: string | undefined;
  fingerprint: boolean;
}

/** RFC 8489 §7.3: a Binding success response reflecting the source transport address. */
export function answerBinding(request: StunMessage, ctx: BindingContext): Buffer {
  const response = new MessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, request.transactionId)
    .add(AttributeType.XorMappedAddress, encodeXorAddress(ctx.from, request.transactionId))
    .add(AttributeType.MappedAddress, encodeMappedAddress(ctx.from))
    .add(AttributeType.ResponseOrigin, encodeMappedAddress(ctx.local));
  if (ctx.software) response.add(AttributeType.Software, Buffer.from(ctx.software, "utf8"));
  return response.build({ fingerprint: ctx.fingerprint });
}
