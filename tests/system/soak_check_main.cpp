// SPDX-License-Identifier: MIT
// tcs-systest-soak-check: the chaos soak's checker (tests/system/chaos_soak_test.sh).
//
//   tcs-systest-soak-check --journal FILE --stream FILE --faults FILE --final FILE
//                          [--tcsctl FILE] [--sniffed FILE] [--seed N] [--seconds N]
//                          [--tolerance-ms N] [--in-flight-ms N]
//     --journal   journalctl -o json of PID 1 and tcs-supervisor.service (one object per line)
//     --stream    the svc_registry stream: one {seq, subject, message} per line (message decoded)
//     --faults    the injector's log: `<unix µs> <kind> <target>` per line
//     --final     `<service_id> <ActiveState> <NRestarts> <MainPID> <Restart>` per line
//     --tcsctl    tcsctl --json at the end (running and pid compared)
//     --sniffed   a live subscriber's `<unix µs> <subject> <body>` lines (figures only)
// Prints the report; exit 0 when nothing outside the windows was lost, duplicated, wrong or
// invented and the final states agree, 1 otherwise, 2 on unreadable input.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "soak_check.hpp"

namespace {

using nlohmann::json;
using namespace tcs::soak;

std::vector<std::string> linesOf(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<json> jsonLines(const std::string& path) {
  std::vector<json> out;
  std::size_t n = 0;
  for (const auto& line : linesOf(path)) {
    ++n;
    try {
      out.push_back(json::parse(line));
    } catch (const json::exception& e) {
      throw std::runtime_error(fmt::format("{}:{}: not JSON: {}", path, n, e.what()));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt{
      {"--tolerance-ms", "2000"}, {"--in-flight-ms", "500"}, {"--seed", "?"}, {"--seconds", "?"}};
  const std::set<std::string> known{"--journal", "--stream", "--faults",  "--final",        "--tcsctl",
                                    "--sniffed", "--seed",   "--seconds", "--tolerance-ms", "--in-flight-ms"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout
          << "usage: tcs-systest-soak-check --journal FILE --stream FILE --faults FILE --final FILE\n"
             "       [--tcsctl FILE] [--sniffed FILE] [--seed N] [--seconds N] [--tolerance-ms N] [--in-flight-ms N]\n";
      return 0;
    }
    if (!known.count(a) || i + 1 >= argc) {
      std::cerr << "tcs-systest-soak-check: unknown option or missing value: " << a << "\n";
      return 2;
    }
    opt[a] = argv[++i];
  }
  for (const char* required : {"--journal", "--stream", "--faults", "--final"})
    if (!opt.count(required)) {
      std::cerr << "tcs-systest-soak-check: " << required << " is required\n";
      return 2;
    }
  try {
    const auto journal = jsonLines(opt["--journal"]);
    std::vector<Fault> faults;
    std::map<std::string, std::size_t> faultKinds;
    for (const auto& line : linesOf(opt["--faults"])) {
      std::istringstream in(line);
      Fault f;
      if (!(in >> f.at >> f.kind)) throw std::runtime_error(opt["--faults"] + ": bad line: " + line);
      std::getline(in >> std::ws, f.target);
      ++faultKinds[f.kind];
      faults.push_back(std::move(f));
    }
    std::vector<FinalState> finals;
    std::map<std::string, std::string> policy;
    for (const auto& line : linesOf(opt["--final"])) {
      std::istringstream in(line);
      FinalState f;
      if (!(in >> f.serviceId >> f.activeState >> f.nRestarts >> f.mainPid >> f.restart))
        throw std::runtime_error(opt["--final"] + ": bad line: " + line);
      policy[f.serviceId] = f.restart;
      finals.push_back(std::move(f));
    }
    std::size_t declared = 0;
    const auto streamLines = jsonLines(opt["--stream"]);
    auto reported = reportedFromStream(streamLines, declared);
    std::vector<Problem> notes;
    auto expected = expectedFromJournal(journal, policy, notes);
    std::size_t records = 0;
    for (const auto& r : journal)
      if (r.value("_PID", "") == "1" && !serviceIdOfUnit(r.value("UNIT", "")).empty()) ++records;
    auto windows = windowsFrom(journal, faults, std::stoll(opt["--in-flight-ms"]) * 1000);
    json tcsctl;
    if (opt.count("--tcsctl")) {
      std::ifstream in(opt["--tcsctl"]);
      tcsctl = json::parse(in);
    }
    Report rep = check(expected, reported, windows, finals, opt.count("--tcsctl") ? &tcsctl : nullptr,
                       std::stoll(opt["--tolerance-ms"]) * 1000);
    rep.records = records;
    rep.declared = declared;
    rep.problems.insert(rep.problems.end(), notes.begin(), notes.end());

    std::string kinds;
    for (const auto& [k, n] : faultKinds) kinds += fmt::format(" {} {}", k, n);
    std::cout << fmt::format("chaos soak: seed {}, {} s, {} faults:{}\n", opt["--seed"], opt["--seconds"],
                             faults.size(), kinds);
    std::cout << fmt::format(
        "systemd's journal: {} records about the services → {} transitions to report; svc_registry: {} events "
        "(+ {} declared)\n",
        rep.records, rep.transitions, rep.events, rep.declared);
    std::cout << fmt::format("outside the windows: lost {}, duplicated {}, wrong {}, invented {} (matched {})\n",
                             rep.lost, rep.duplicated, rep.wrong, rep.invented, rep.matched);
    Micros windowUs = 0;
    for (const auto& w : rep.windows)
      if (w.from > 0 && w.to < std::numeric_limits<Micros>::max()) windowUs += w.to - w.from;
    std::cout << fmt::format(
        "windows the supervisor could not see (killed, bus lost): {} after its first start, {:.1f} s in all; "
        "{} transitions in them: {} reported anyway, {} not (not reconstructed, by design), {} reported differently\n",
        rep.windows.size() > 0 ? rep.windows.size() - 1 : 0, windowUs / 1e6, rep.windowTransitions, rep.windowReported,
        rep.windowUnreported, rep.windowDiffering);
    std::cout << fmt::format(
        "final state: registry {}/{} as systemd ({} not reconstructable: last change in a window); "
        "tcsctl {}/{}\n",
        rep.finalChecked - rep.finalMismatch - rep.finalUnreconstructable, rep.finalChecked, rep.finalUnreconstructable,
        rep.tcsctlChecked - rep.tcsctlMismatch, rep.tcsctlChecked);
    std::size_t liveCopies = 0, liveRepeats = 0, notLive = 0;
    if (opt.count("--sniffed")) {
      std::map<std::string, std::size_t> bodies;
      for (const auto& line : linesOf(opt["--sniffed"])) {
        std::istringstream in(line);
        std::string us, subject, body;
        in >> us >> subject;
        if (subject.rfind("svc.registry.", 0) != 0) continue;
        std::getline(in >> std::ws, body);
        try {
          ++bodies[json::parse(body).dump()];
          ++liveCopies;
        } catch (const json::exception&) {
        }
      }
      for (const auto& [b, n] : bodies) liveRepeats += n - 1;
      for (const auto& l : streamLines)
        if (!bodies.count(l.at("message").dump())) ++notLive;
      std::cout << fmt::format(
          "live subscriber (figures only): {} registry copies, {} repeats of a copy, {} stream messages it never got "
          "(sent while it reconnected after a nats-server restart)\n",
          liveCopies, liveRepeats, notLive);
    }
    for (const auto& p : rep.problems) std::cout << fmt::format("  {:<10} {:<22} {}\n", p.kind, p.serviceId, p.text);
    for (const auto& w : rep.windows)
      if (w.from > 0)
        std::cout << fmt::format("  window     {:.3f} s  {}\n",
                                 w.to == std::numeric_limits<Micros>::max() ? -1.0 : (w.to - w.from) / 1e6, w.why);
    std::cout << fmt::format(
        "SOAK seed={} seconds={} faults={} transitions={} events={} lost={} duplicated={} wrong={} invented={} "
        "window_transitions={} window_unreported={} window_differing={} final_mismatch={} final_unreconstructable={} "
        "tcsctl_mismatch={} live_repeats={} not_live={}\n",
        opt["--seed"], opt["--seconds"], faults.size(), rep.transitions, rep.events, rep.lost, rep.duplicated,
        rep.wrong, rep.invented, rep.windowTransitions, rep.windowUnreported, rep.windowDiffering, rep.finalMismatch,
        rep.finalUnreconstructable, rep.tcsctlMismatch, liveRepeats, notLive);
    return rep.ok() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "tcs-systest-soak-check: " << e.what() << "\n";
    return 2;
  }
}
