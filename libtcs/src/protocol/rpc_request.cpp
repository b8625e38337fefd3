// SPDX-License-Identifier: MIT
// parseRpcRequest: the request-body rule shared by the service RPC (monitor) and the supervisor.
#include "tcs/error.hpp"
#include "tcs/protocol/codec.hpp"

namespace tcs::protocol {

RpcRequest parseRpcRequest(std::string_view body) {
  try {
    return decode<RpcRequest>(body).data;
  } catch (const ProtocolError& e) {
    // Bodies without an envelope (`nats req SUBJECT '{}'`) are accepted as well; when that
    // fails too, the envelope's error says more about what was meant.
    try {
      return decodeData<RpcRequest>(body);
    } catch (const ProtocolError&) {
      throw e;
    }
  }
}

}  // namespace tcs::protocol
