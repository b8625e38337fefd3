// SPDX-License-Identifier: MIT
// The baseline of bench/tcsctl_bench.sh: a bare JetStream read of what tcsctl reads, with nats.c
// only (bench/README.md).
//
//   tcsctl_bench_read NATS_URL [PREFIX]
//   tcsctl_bench_read --follow NATS_URL [PREFIX]
//
// Connects, then for each of `<P>.registry.>`, `<P>.status.>` and `<P>.heartbeat.>` does what
// tcs::JetStreamReader::lastPerSubject() does on the wire: an ephemeral in-memory pull consumer
// (deliver last per subject, no acks), its pending count from the consumer info, fetches of at
// most 512 messages until none is pending, then the consumer's deletion. No decoding: it only
// counts messages and bytes, and prints `<messages> <bytes>`. Exit 1 when a read fails.
//
// --follow: the baseline of tcsctl --follow: subscribes to the same three subject trees (async
// nats.c subscriptions, as libtcs makes them) and counts what arrives, until SIGINT/SIGTERM;
// then prints `<messages> <bytes>`.
#include <nats/nats.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

bool readLastPerSubject(jsCtx* js, const std::string& filter, std::uint64_t* messages, std::uint64_t* bytes) {
  jsOptions opts;
  jsOptions_Init(&opts);
  opts.Wait = 5000;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Config.DeliverPolicy = js_DeliverLastPerSubject;
  so.Config.AckPolicy = js_AckNone;
  so.Config.FilterSubject = filter.c_str();
  so.Config.MemoryStorage = true;
  so.Config.InactiveThreshold = 30LL * 1000 * 1000 * 1000;
  natsSubscription* sub = nullptr;
  jsErrCode code{};
  natsStatus st = js_PullSubscribe(&sub, js, filter.c_str(), nullptr, &opts, &so, &code);
  if (st != NATS_OK) {
    std::fprintf(stderr, "tcsctl_bench_read: %s: %s\n", filter.c_str(), natsStatus_GetText(st));
    return false;
  }
  jsConsumerInfo* info = nullptr;
  st = natsSubscription_GetConsumerInfo(&info, sub, &opts, &code);
  if (st != NATS_OK) {
    std::fprintf(stderr, "tcsctl_bench_read: consumer info of %s: %s\n", filter.c_str(), natsStatus_GetText(st));
    natsSubscription_Destroy(sub);
    return false;
  }
  std::uint64_t pending = info->NumPending;
  jsConsumerInfo_Destroy(info);
  while (pending > 0) {
    natsMsgList list{};
    st = natsSubscription_Fetch(&list, sub, static_cast<int>(std::min<std::uint64_t>(pending, 512)), 5000, &code);
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* m = list.Msgs[i];
      *bytes += static_cast<std::uint64_t>(natsMsg_GetDataLength(m));
      ++*messages;
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        pending = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
      } else {
        --pending;
      }
    }
    natsMsgList_Destroy(&list);
    if (pending > 0 && st != NATS_OK) {
      std::fprintf(stderr, "tcsctl_bench_read: fetch of %s: %s\n", filter.c_str(), natsStatus_GetText(st));
      natsSubscription_Destroy(sub);
      return false;
    }
  }
  natsSubscription_Unsubscribe(sub);  // deletes the consumer
  natsSubscription_Destroy(sub);
  return true;
}

struct Count {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes{0};
};

void onMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* c = static_cast<Count*>(closure);
  c->bytes += static_cast<std::uint64_t>(natsMsg_GetDataLength(msg));
  ++c->messages;
  natsMsg_Destroy(msg);
}

int follow(natsConnection* nc, const std::string& prefix) {
  Count count;
  std::vector<natsSubscription*> subs;
  for (const char* kind : {"registry", "status", "heartbeat"}) {
    natsSubscription* sub = nullptr;
    if (natsConnection_Subscribe(&sub, nc, (prefix + "." + kind + ".>").c_str(), onMessage, &count) != NATS_OK) {
      std::fprintf(stderr, "tcsctl_bench_read: cannot subscribe\n");
      return 1;
    }
    subs.push_back(sub);
  }
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  int signal = 0;
  sigwait(&stopSignals, &signal);  // blocked in every thread since main()
  for (auto* sub : subs) natsSubscription_Destroy(sub);
  std::printf("%llu %llu\n", static_cast<unsigned long long>(count.messages.load()),
              static_cast<unsigned long long>(count.bytes.load()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool following = argc > 1 && std::string{argv[1]} == "--follow";
  if (following) {
    --argc, ++argv;
    sigset_t stopSignals;  // before nats.c starts its threads, which inherit the mask
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: tcsctl_bench_read [--follow] NATS_URL [PREFIX]\n");
    return 2;
  }
  const std::string prefix = argc > 2 ? argv[2] : "svc";
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, argv[1]) != NATS_OK) {
    std::fprintf(stderr, "tcsctl_bench_read: cannot connect to %s\n", argv[1]);
    return 1;
  }
  if (following) {
    const int rc = follow(nc, prefix);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
  }
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  bool ok = true;
  for (const char* kind : {"registry", "status", "heartbeat"})
    ok = readLastPerSubject(js, prefix + "." + kind + ".>", &messages, &bytes) && ok;
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  std::printf("%llu %llu\n", static_cast<unsigned long long>(messages), static_cast<unsigned long long>(bytes));
  return ok ? 0 : 1;
}
