#include "train/rm_data.h"

#include "core/check.h"
#include "core/io.h"
#include "model/config.h"
#include "scoring/rm_input.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <sstream>

namespace r1 {

using json = nlohmann::json;

namespace {

const char* kForms = "a string, or a list of {\"role\", \"content\"} messages (the conversational form)";

// A list of messages, each {"role": string, "content": string}.
void check_messages(const json& m, const std::string& where, const std::string& field) {
  R1_CHECK(m.is_array() && !m.empty(), where, ": field \"", field, "\": expected a non-empty list of messages, got ",
           m.dump().substr(0, 80));
  for (size_t i = 0; i < m.size(); i++)
    R1_CHECK(m[i].is_object() && m[i].contains("role") && m[i]["role"].is_string() && m[i].contains("content") &&
                 m[i]["content"].is_string(),
             where, ": field \"", field, "\"[", i, "]: expected {\"role\": string, \"content\": string}, got ",
             m[i].dump().substr(0, 80));
}

std::string roles(const json& m) {
  std::string r;
  for (const auto& x : m) r += (r.empty() ? "" : ", ") + x["role"].get<std::string>();
  return "[" + r + "]";
}

// The response of a conversational completion: exactly one assistant message.
std::string reply_of(const json& m, const std::string& where, const std::string& field, const char* after) {
  R1_CHECK(!m.empty(), where, ": field \"", field, "\": no assistant turn ", after,
           " (expected the response as one {\"role\": \"assistant\"} message)");
  R1_CHECK(m.size() == 1 && m[0]["role"] == "assistant", where, ": field \"", field, "\": expected one assistant turn ",
           after, " (the response), got the roles ", roles(m),
           m.size() == 1 ? " (no assistant turn)" : " (a reward model scores one reply)");
  return m[0]["content"].get<std::string>();
}

void conversational_text(const json& row, const ChatTemplate* chat, const std::string& where, RmRowText& t) {
  const json &ch = row["chosen"], &rj = row["rejected"];
  R1_CHECK(ch.is_array(), where, ": field \"chosen\": expected a list of messages like \"rejected\", got ",
           ch.dump().substr(0, 80));
  R1_CHECK(rj.is_array(), where, ": field \"rejected\": expected a list of messages like \"chosen\", got ",
           rj.dump().substr(0, 80));
  R1_CHECK(chat, where, ": conversational rows need a chat template (chat_template.jinja, chat_template.json or "
           "tokenizer_config.json in the tokenizer folder)");
  json prompt;
  if (row.contains("prompt")) {
    check_messages(row["prompt"], where, "prompt");
    for (const char* f : {"chosen", "rejected"}) check_messages(row[f], where, f);
    prompt = row["prompt"];
    t.chosen = reply_of(ch, where, "chosen", "after the prompt");
    t.rejected = reply_of(rj, where, "rejected", "after the prompt");
  } else {  // implicit prompt: the messages both conversations start with
    check_messages(ch, where, "chosen");
    check_messages(rj, where, "rejected");
    size_t n = 0;
    while (n < ch.size() && n < rj.size() && ch[n] == rj[n]) n++;
    n = std::min(n, std::min(ch.size(), rj.size()) - 1);  // each keeps at least its last message as the reply
    prompt = json(ch.begin(), ch.begin() + (long)n);
    const char* after = "after the messages that \"chosen\" and \"rejected\" share (the implicit prompt)";
    t.chosen = reply_of(json(ch.begin() + (long)n, ch.end()), where, "chosen", after);
    t.rejected = reply_of(json(rj.begin() + (long)n, rj.end()), where, "rejected", after);
  }
  t.prompt = chat->render(prompt, true);
}

}  // namespace

RmRowText rm_row_text(const json& row, const ChatTemplate* chat, bool use_margin, const std::string& where) {
  R1_CHECK(row.is_object(), where, ": expected an object with \"chosen\" and \"rejected\" (and \"prompt\")");
  for (const char* f : {"chosen", "rejected"})
    R1_CHECK(row.contains(f), where, ": field \"", f, "\" is missing (expected ", kForms, ")");
  RmRowText t;
  const json &ch = row["chosen"], &rj = row["rejected"];
  if (ch.is_array() || rj.is_array()) {
    conversational_text(row, chat, where, t);
  } else {
    R1_CHECK(ch.is_string(), where, ": field \"chosen\": expected ", kForms, ", got ", ch.dump().substr(0, 80));
    R1_CHECK(rj.is_string(), where, ": field \"rejected\": expected ", kForms, ", got ", rj.dump().substr(0, 80));
    R1_CHECK(!row.contains("prompt") || row["prompt"].is_string(), where,
             ": field \"prompt\": expected a string (chosen and rejected are strings), got ",
             row["prompt"].dump().substr(0, 80));
    t.prompt = row.value("prompt", std::string());
    t.chosen = ch.get<std::string>();
    t.rejected = rj.get<std::string>();
  }
  if (use_margin && row.contains("margin")) {
    R1_CHECK(row["margin"].is_number(), where, ": field \"margin\": expected a number, got ", row["margin"].dump());
    t.margin = row["margin"].get<float>();
  }
  if (row.contains("kind")) {
    R1_CHECK(row["kind"].is_string(), where, ": field \"kind\": expected a string, got ", row["kind"].dump());
    t.kind = row["kind"].get<std::string>();
  }
  return t;
}

RmPair encode_rm_row(const json& row, const Tokenizer& tok, const ModelConfig& cfg, const ChatTemplate* chat,
                     bool use_margin, const std::string& where) {
  RmRowText t = rm_row_text(row, chat, use_margin, where);
  RmIds c = rm_ids(tok, cfg, t.prompt, t.chosen), r = rm_ids(tok, cfg, t.prompt, t.rejected);
  return {std::move(c.prompt), std::move(c.response), std::move(r.response), t.margin, std::move(t.kind)};
}

RmPairs read_rm_pairs(const std::string& path, const Tokenizer& tok, const ModelConfig& cfg, const ChatTemplate* chat,
                      bool use_margin, long max_length) {
  R1_CHECK(file_exists(path), "rm: data file ", path, " does not exist");
  std::istringstream in(read_file(path));
  std::string line;
  long ln = 0, rows = 0;
  RmPairs out;
  while (std::getline(in, line)) {
    ln++;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = str(path, ":", ln);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail(where, ": not valid JSON (", e.what(), ")");
    }
    rows++;
    RmPair p = encode_rm_row(j, tok, cfg, chat, use_margin, where);
    if (p.length() > max_length) out.too_long++;
    else out.pairs.push_back(std::move(p));
  }
  R1_CHECK(rows > 0, "rm: ", path, " holds no preference pairs");
  return out;
}

void pack_rm_pairs(const RmPair* const* pairs, int n, PackedBatch& b, std::vector<int>& rows) {
  b = PackedBatch();
  rows.clear();
  std::vector<int> none;
  auto add = [&](const std::vector<int>& ids, int prefix) {
    none.assign(ids.size(), -1);
    return b.add(ids, none, prefix);
  };
  for (int i = 0; i < n; i++) {
    const RmPair& p = *pairs[i];
    R1_CHECK(!p.chosen.empty() && !p.rejected.empty(), "rm: a pair's response has no tokens (not even EOS)");
    int prefix = -1;
    if (!p.prompt.empty()) {
      add(p.prompt, -1);
      prefix = b.last();
    }
    rows.push_back(add(p.chosen, prefix) + (int)p.chosen.size() - 1);
    rows.push_back(add(p.rejected, prefix) + (int)p.rejected.size() - 1);
  }
}

}  // namespace r1
