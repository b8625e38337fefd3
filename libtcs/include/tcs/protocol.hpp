// SPDX-License-Identifier: MIT
#pragma once

/**
 * @file
 * The NATS wire protocol of tcs (library tcs::protocol), as an umbrella over one header per
 * concern — tcs/protocol/timestamp.hpp, json_object.hpp, subject.hpp, envelope.hpp,
 * payloads.hpp, codec.hpp, aggregate.hpp — which may also be included alone: subjects, the serverish envelope,
 * timestamps, every payload, and status aggregation. The contract is `spec/protocol.md`; the bytes match what upstream
 * ocabox-tcs publishes, so upstream `tcsctl` reads tcs and tcs reads upstream.
 *
 * Everything here is pure (no I/O). Encoders do not fail (invalid UTF-8 is replaced); subject
 * builders throw tcs::ProtocolError for invalid names; decoders and parsers throw
 * tcs::ProtocolError, whose what() names the JSON path and the problem
 * (`data.details.children[1].status: unknown status value 'completed'`), and nothing else: no
 * JSON-library exception escapes, no input crashes.
 *
 * **Key order.** Encoders emit keys in upstream's order (status: `name, status, timestamp,
 * message, details, parent, pid, hostname`; registry: `event, service_id, timestamp,
 * <specific…>, parent, runner_id`), so a decoded upstream message re-encodes to the same JSON.
 *
 * **Optional keys.** A string that is empty, a JsonObject that is empty and an unset optional
 * are left out (exceptions are listed on the member). Decoders ignore unknown keys and treat
 * `null` for an optional key as absent.
 *
 * **Free-form JSON** (`metrics`, `checks`, `stats`, RPC parameters) is a JsonObject: the
 * compact text of one JSON object, so no JSON library type appears in this header.
 *
 * Thread safety: all functions are reentrant; MetaGenerator::next() may be called from any
 * thread.
 */

#include "tcs/protocol/aggregate.hpp"
#include "tcs/protocol/codec.hpp"
#include "tcs/protocol/envelope.hpp"
#include "tcs/protocol/json_object.hpp"
#include "tcs/protocol/payloads.hpp"
#include "tcs/protocol/subject.hpp"
#include "tcs/protocol/timestamp.hpp"
