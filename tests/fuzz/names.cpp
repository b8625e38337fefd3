// SPDX-License-Identifier: MIT
// Fuzz harness: the names of tcs — unit names, service ids, instance strings (tcs/unit_name.hpp),
// launcher names and NATS subjects (tcs/protocol/subject.hpp) — which the supervisor parses
// from D-Bus (unit names of any tcs@ instance, including ones made by hand) and every reader
// parses from NATS subjects.
//
// Properties: what parses rebuilds to the same text (parseUnitName/unitName,
// parseServiceId/serviceId); what is built from valid tokens parses back to them; a subject a
// builder makes parses back to its parts; nothing throws except ProtocolError from the
// documented builders and parseSubject().
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "tcs/error.hpp"
#include "tcs/protocol/subject.hpp"
#include "tcs/unit_name.hpp"

namespace {

namespace p = tcs::protocol;
namespace un = tcs::unit_name;
using tcs::fuzz::check;

void unitNames(const std::string& text) {
  if (const auto parsed = un::parseUnitName(text)) {
    check(un::unitName(parsed->type, parsed->variant) == text, "a parsed unit name rebuilds to itself", text);
    check(un::isValidType(parsed->type) && un::isValidToken(parsed->variant), "a parsed unit name has valid parts",
          text);
    check(text.size() <= un::kMaxUnitNameLength, "a parsed unit name is within systemd's limit", text);
  }
  if (const auto parsed = un::parseServiceId(text)) {
    check(un::serviceId(parsed->type, parsed->variant) == text, "a parsed service id rebuilds to itself", text);
    check(un::isValidType(parsed->type) && un::isValidToken(parsed->variant), "a parsed service id has valid parts",
          text);
  }
  if (un::isValidType(text)) check(p::isValidSubjectName(text), "a valid type is a valid subject name", text);
}

void madeNames(const std::string& type, const std::string& variant) {
  if (!un::isValidType(type) || !un::isValidToken(variant)) return;
  const auto unit = un::unitName(type, variant);
  if (unit.size() <= un::kMaxUnitNameLength) {
    const auto parsed = un::parseUnitName(unit);
    check(parsed && parsed->type == type && parsed->variant == variant, "unitName() parses back", unit);
  }
  const auto id = un::serviceId(type, variant);
  const auto parsed = un::parseServiceId(id);
  check(parsed && parsed->type == type && parsed->variant == variant, "serviceId() parses back", id);
  check(un::instance(type, variant) == type + ":" + variant, "instance() is <type>:<variant>");
}

void subjects(const std::string& prefix, const std::string& name, const std::string& arg, const std::string& raw) {
  try {
    (void)p::parseSubject(prefix, raw);
  } catch (const tcs::ProtocolError&) {
  }
  (void)p::launcherIdOf(raw);
  try {
    const auto s = p::parseSubject(prefix, p::statusSubject(prefix, name));
    check(s.kind == p::SubjectKind::Status && s.name == name, "statusSubject() parses back", name);
  } catch (const tcs::ProtocolError&) {
  }
  try {
    const auto s = p::parseSubject(prefix, p::registrySubject(prefix, p::RegistryEventType::Crashed, name));
    check(s.kind == p::SubjectKind::Registry && s.name == name && s.event == "crashed", "registrySubject() parses back",
          name);
  } catch (const tcs::ProtocolError&) {
  }
  for (const auto command : {p::RpcCommand::Health, p::RpcCommand::List, p::RpcCommand::Start, p::RpcCommand::Logs}) {
    const std::string argument = p::takesServiceId(command) ? arg : "";
    std::string subject;
    try {
      subject = p::rpcSubject(prefix, name, command, argument);
    } catch (const tcs::ProtocolError&) {
      continue;
    }
    try {
      const auto s = p::parseSubject(prefix, subject);
      check(s.kind == p::SubjectKind::Rpc && s.name == name && s.command == p::toString(command) &&
                s.argument == argument,
            "rpcSubject() parses back to its parts", subject);
    } catch (const tcs::ProtocolError& e) {
      tcs::fuzz::fail("rpcSubject() parses back", subject + ": " + e.what());
    }
  }
  try {
    const auto launcher = p::launcherName(arg);
    check(p::launcherIdOf(launcher) == arg, "launcherIdOf(launcherName(id)) == id", launcher);
  } catch (const tcs::ProtocolError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  unitNames(std::string(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  const auto type = in.ConsumeRandomLengthString(80);
  const auto variant = in.ConsumeRandomLengthString(80);
  madeNames(type, variant);
  const auto prefix = in.ConsumeBool() ? std::string("svc") : in.ConsumeRandomLengthString(20);
  const auto name = in.ConsumeRandomLengthString(80);
  const auto arg = in.ConsumeRandomLengthString(80);
  subjects(prefix, name, arg, in.ConsumeRemainingBytesAsString());
  (void)un::launcherId(type);
  return 0;
}
