/*
 * Protokollsök chat widget: a question form, the conversation, and each answer's verbatim sources.
 *
 * Embeddable: <script src="https://host/static/widget.js" data-api="https://host" data-token="…" defer></script>
 * renders into #protokollsok (or a container it creates after the script tag) and loads widget.css itself.
 * Server text (answers, quotes, titles) is untrusted and only ever set with textContent, never as HTML.
 * The conversation lives in sessionStorage, so it survives following a source link and coming back;
 * it disappears when the tab is closed.
 */
(function () {
  "use strict";

  var PLACEHOLDER = "__WIDGET_" + "TOKEN__"; // split so a server replacing the page's placeholder never touches it
  var NOTICE =
    "Svaren är maskinellt utvalda utdrag ur kommunens handlingar. Kontrollera alltid mot källan. " +
    "Du ansvarar för hur uppgifterna används. Underlaget får inte ensamt ligga till grund för beslut om enskilda personer.";
  var NO_ANSWER = "De genomsökta handlingarna innehåller inget säkert svar på frågan.";
  var BUSY = "Söker i handlingarna …";
  var TIMEOUT_MS = 60000;
  var MAX_KEPT = 30;

  var script = document.currentScript || findScript();
  if (!script) return;
  var token = script.getAttribute("data-token") || "";
  if (token === PLACEHOLDER) token = "";
  var base = apiBase(script);
  var storeKey = "protokollsok-samtal:" + base;

  function findScript() {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(all[i].src)) return all[i];
    }
    return null;
  }

  /* data-api if given, else where the script itself was served from (…/static/widget.js → …). */
  function apiBase(el) {
    var api = el.getAttribute("data-api");
    var url = api ? new URL(api, document.baseURI) : new URL("../", el.src || document.baseURI);
    return url.href.replace(/\/+$/, "");
  }

  function ensureStylesheet() {
    var href = new URL(base + "/static/widget.css").href;
    var links = document.querySelectorAll('link[rel~="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      if (links[i].href === href) return;
    }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  function container() {
    var root = document.getElementById("protokollsok");
    if (root) return root;
    root = document.createElement("div");
    root.id = "protokollsok";
    var parent = script.parentNode;
    if (parent && parent !== document.head && document.body && document.body.contains(script)) {
      parent.insertBefore(root, script.nextSibling);
    } else {
      document.body.appendChild(root);
    }
    return root;
  }

  /* ---------- building DOM (text only) ---------- */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] === null || attrs[key] === undefined) continue;
        if (key === "text") node.textContent = attrs[key];
        else if (key === "className") node.className = attrs[key];
        else node.setAttribute(key, attrs[key]);
      }
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* A table row is shown under its table's column heads, which the answer quotes with it: its numbers need them. */
  function headsLine(statement) {
    return statement.heads ? el("span", { className: "ps-kolumner", text: "Kolumner: " + statement.heads }) : null;
  }

  function capitalised(value) {
    value = String(value || "");
    return value.charAt(0).toLocaleUpperCase("sv") + value.slice(1);
  }

  /* The API's details read "Svensk text / English text"; the user sees the Swedish half, as a sentence. */
  function swedish(detail) {
    var text = String(detail || "").split(" / ")[0].trim();
    if (!text) return "";
    text = text.charAt(0).toLocaleUpperCase("sv") + text.slice(1);
    return /[.!?]$/.test(text) ? text : text + ".";
  }

  /* ---------- the widget ---------- */

  function Widget(root) {
    this.root = root;
    this.exchanges = load();
    this.busy = false;
    this.build();
    this.facets();
  }

  Widget.prototype.build = function () {
    var self = this;
    var root = this.root;
    root.classList.add("ps");
    root.textContent = "";

    if (!document.getElementById("ps-notis")) {
      root.appendChild(
        el("p", { className: "ps-notis", id: "ps-notis" }, [el("strong", { text: "Observera:" }), " " + NOTICE])
      );
    }

    this.question = el("textarea", {
      id: "ps-fraga",
      name: "question",
      rows: "3",
      autocomplete: "off",
      "aria-describedby": "ps-fraga-hjalp",
    });
    this.kommun = select("ps-kommun", "Alla kommuner");
    this.organ = select("ps-organ", "Alla organ");
    this.docType = select("ps-doctyp", "Alla dokumenttyper");
    this.from = el("input", { type: "date", id: "ps-fran", name: "date_from" });
    this.to = el("input", { type: "date", id: "ps-till", name: "date_to" });
    this.details = el("details", { className: "ps-avgransa" }, [
      el("summary", { text: "Avgränsa sökningen" }),
      el("div", { className: "ps-filter" }, [
        field("Kommun", this.kommun),
        field("Organ", this.organ),
        field("Dokumenttyp", this.docType),
        el("fieldset", { className: "ps-period" }, [
          el("legend", { text: "Period" }),
          field("Från och med", this.from),
          field("Till och med", this.to),
        ]),
      ]),
      el("p", { className: "ps-hjalp", id: "ps-filter-info", text: "Lämna ett fält tomt för att söka i allt." }),
    ]);
    this.submit = el("button", { type: "submit", className: "ps-knapp ps-primar", text: "Fråga" });
    this.form = el("form", { className: "ps-form", novalidate: "", "aria-label": "Fråga handlingarna" }, [
      el("label", { for: "ps-fraga", className: "ps-etikett", text: "Din fråga" }),
      el("p", {
        className: "ps-hjalp",
        id: "ps-fraga-hjalp",
        text: "Till exempel: Vad beslutade kommunstyrelsen om budgeten? Tryck Enter för att fråga och Skift + Enter för ny rad.",
      }),
      this.question,
      this.details,
      el("div", { className: "ps-knappar" }, [this.submit]),
    ]);
    this.status = el("p", { className: "ps-status", role: "status" });
    this.alert = el("div", { className: "ps-fel", role: "alert", id: "ps-fel" });

    this.heading = el("h2", { className: "ps-samtal-rubrik", id: "ps-samtal-rubrik", text: "Samtalet" });
    this.copy = el("button", { type: "button", className: "ps-knapp", text: "Kopiera samtalet" });
    this.clear = el("button", { type: "button", className: "ps-knapp", text: "Töm samtalet" });
    this.toolbar = el("div", { className: "ps-samtal-huvud" }, [
      this.heading,
      el("div", { className: "ps-knappar" }, [this.copy, this.clear]),
    ]);
    this.log = el("div", {
      className: "ps-samtal",
      "aria-live": "polite",
      "aria-busy": "false",
      "aria-labelledby": "ps-samtal-rubrik",
      role: "log",
    });

    root.appendChild(this.form);
    root.appendChild(this.status);
    root.appendChild(this.alert);
    root.appendChild(this.toolbar);
    root.appendChild(this.log);

    this.exchanges.forEach(function (exchange) {
      self.log.appendChild(renderExchange(exchange));
    });
    this.toolbar.hidden = this.exchanges.length === 0;

    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.ask();
    });
    this.question.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.ask();
      }
    });
    this.copy.addEventListener("click", function () {
      self.copyConversation();
    });
    this.clear.addEventListener("click", function () {
      self.exchanges = [];
      save(self.exchanges);
      self.log.textContent = "";
      self.toolbar.hidden = true;
      self.say("Samtalet är tömt.");
      self.question.focus();
    });
    [this.question, this.from, this.to].forEach(function (input) {
      input.addEventListener("input", function () {
        if (input.getAttribute("aria-invalid")) self.clearError();
      });
    });
  };

  function select(id, allLabel) {
    return el("select", { id: id }, [el("option", { value: "", text: allLabel })]);
  }

  function field(label, control) {
    return el("div", { className: "ps-falt" }, [el("label", { for: control.id, text: label }), control]);
  }

  Widget.prototype.headers = function (json) {
    var headers = { Accept: "application/json" };
    if (json) headers["Content-Type"] = "application/json";
    if (token) headers["X-Widget-Token"] = token;
    return headers;
  };

  Widget.prototype.facets = function () {
    var self = this;
    fetch(base + "/api/facets", { headers: this.headers(false), credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (facets) {
        fill(self.kommun, facets.kommuner);
        fill(self.organ, facets.organ);
        fill(self.docType, facets.doc_types);
        [self.from, self.to].forEach(function (input) {
          if (facets.date_from) input.min = facets.date_from;
          if (facets.date_to) input.max = facets.date_to;
        });
        if (facets.date_from && facets.date_to) {
          document.getElementById("ps-filter-info").textContent =
            "Lämna ett fält tomt för att söka i allt. Handlingarna är daterade från " +
            facets.date_from + " till " + facets.date_to + ".";
        }
      })
      .catch(function () {
        document.getElementById("ps-filter-info").textContent =
          "Listorna över kommuner och organ kunde inte hämtas just nu. Du kan ändå ställa frågor.";
      });
  };

  function fill(selectEl, values) {
    (values || []).forEach(function (value) {
      selectEl.appendChild(el("option", { value: value, text: capitalised(value) }));
    });
  }

  Widget.prototype.filters = function () {
    var out = {};
    if (this.kommun.value) out.kommun = this.kommun.value;
    if (this.organ.value) out.organ = this.organ.value;
    if (this.docType.value) out.doc_type = this.docType.value;
    if (this.from.value) out.date_from = this.from.value;
    if (this.to.value) out.date_to = this.to.value;
    return out;
  };

  Widget.prototype.say = function (text) {
    this.status.textContent = text;
    this.status.classList.toggle("ps-upptagen", text === BUSY);
  };

  Widget.prototype.clearError = function () {
    this.alert.textContent = "";
    [this.question, this.kommun, this.organ, this.docType, this.from, this.to].forEach(function (control) {
      control.removeAttribute("aria-invalid");
      var described = (control.getAttribute("aria-describedby") || "").replace(/\s*ps-fel\b/, "").trim();
      if (described) control.setAttribute("aria-describedby", described);
      else control.removeAttribute("aria-describedby");
    });
  };

  Widget.prototype.error = function (message, fieldName) {
    this.alert.textContent = "";
    this.alert.appendChild(el("p", { text: message }));
    var control = {
      question: this.question,
      kommun: this.kommun,
      organ: this.organ,
      doc_type: this.docType,
      date_from: this.from,
      date_to: this.to,
    }[fieldName || ""];
    if (control) {
      control.setAttribute("aria-invalid", "true");
      var described = control.getAttribute("aria-describedby");
      control.setAttribute("aria-describedby", described ? described + " ps-fel" : "ps-fel");
      if (control !== this.question) this.details.open = true;
      control.focus();
    }
  };

  Widget.prototype.ask = function () {
    var self = this;
    if (this.busy) return;
    this.clearError();
    var question = this.question.value.trim();
    var filters = this.filters();
    if (!question) return this.error("Skriv en fråga i fältet först.", "question");
    if (filters.date_from && filters.date_to && filters.date_from > filters.date_to) {
      return this.error("Periodens startdatum ligger efter slutdatumet. Ändra något av datumen.", "date_from");
    }
    var body = { question: question };
    for (var key in filters) body[key] = filters[key];

    this.busy = true;
    this.submit.setAttribute("aria-disabled", "true");
    this.log.setAttribute("aria-busy", "true");
    this.root.classList.add("ps-arbetar");
    this.say(BUSY);

    var abort = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () {
      if (abort) abort.abort();
    }, TIMEOUT_MS);

    fetch(base + "/api/ask", {
      method: "POST",
      headers: this.headers(true),
      body: JSON.stringify(body),
      credentials: "omit",
      signal: abort ? abort.signal : undefined,
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (data) {
            if (response.ok && data && Array.isArray(data.answer)) return data;
            throw requestError(response, data);
          });
      })
      .then(function (data) {
        var last = self.exchanges[self.exchanges.length - 1];
        var exchange = {
          seq: last ? last.seq + 1 : 1,
          question: question,
          filters: filters,
          time: new Date().toISOString(),
          response: data,
        };
        self.exchanges.push(exchange);
        if (self.exchanges.length > MAX_KEPT) {
          self.exchanges.shift();
          if (self.log.firstChild) self.log.removeChild(self.log.firstChild);
        }
        save(self.exchanges);
        var node = renderExchange(exchange);
        self.toolbar.hidden = false;
        self.log.appendChild(node);
        self.question.value = "";
        self.say("");
        if (node.scrollIntoView) node.scrollIntoView({ block: "nearest" });
      })
      .catch(function (err) {
        self.say("");
        if (err && err.name === "AbortError") {
          self.error("Sökningen tog för lång tid. Försök igen om en stund.");
        } else if (err && err.userMessage) {
          self.error(err.userMessage, err.field);
        } else {
          self.error("Det gick inte att nå tjänsten. Kontrollera nätverket och försök igen.");
        }
      })
      .then(function () {
        clearTimeout(timer);
        self.busy = false;
        self.submit.removeAttribute("aria-disabled");
        self.log.setAttribute("aria-busy", "false");
        self.root.classList.remove("ps-arbetar");
      });
  };

  function requestError(response, data) {
    var message = data && data.detail ? swedish(data.detail) : "";
    if (!message) {
      message =
        response.status === 401
          ? "Sidan behöver laddas om innan du kan fråga igen."
          : response.status === 429
          ? "Många frågor har ställts på kort tid."
          : "Frågan kunde inte besvaras (fel " + response.status + "). Försök igen.";
    }
    var retry = response.headers.get("Retry-After");
    if (response.status === 429 && retry && /^\d+$/.test(retry)) {
      message += " Du kan fråga igen om " + retry + (retry === "1" ? " sekund." : " sekunder.");
    }
    if (response.status === 401) {
      message += " Sidans behörighet kan ha gått ut. Ladda om sidan och fråga igen; samtalet finns kvar.";
    }
    var err = new Error(message);
    err.userMessage = message;
    err.field = data && data.field;
    return err;
  }

  /* ---------- one question and its answer ---------- */

  /* A link cannot carry the token header, so with keys set the document view takes it as ?token=. */
  function documentUrl(source) {
    var url = base + "/documents/" + encodeURIComponent(source.doc_id);
    var query = [];
    var hasSpan = Array.isArray(source.span) && source.span.length === 2;
    if (hasSpan) query.push("highlight=" + Number(source.span[0]) + "-" + Number(source.span[1]));
    if (token) query.push("token=" + encodeURIComponent(token));
    if (query.length) url += "?" + query.join("&");
    return hasSpan ? url + "#citat" : url;
  }

  function sourceId(i, n) {
    return "ps-" + i + "-kalla-" + n;
  }

  function metadata(source) {
    var rows = [
      ["Kommun", source.kommun],
      ["Organ", source.organ && capitalised(source.organ)],
      ["Dokumenttyp", source.doc_type && capitalised(source.doc_type)],
      ["Datum", source.date || "datum saknas"],
      ["Paragraf", source.paragraf],
      ["Dnr", source.dnr],
      ["Sida", source.page === null || source.page === undefined ? "sida saknas i källan" : String(source.page)],
    ];
    return rows.filter(function (row) {
      return row[1];
    });
  }

  function filterText(filters) {
    var parts = [];
    if (filters.kommun) parts.push(filters.kommun);
    if (filters.organ) parts.push(capitalised(filters.organ));
    if (filters.doc_type) parts.push(capitalised(filters.doc_type));
    if (filters.date_from || filters.date_to) parts.push((filters.date_from || "…") + " – " + (filters.date_to || "…"));
    return parts.join(", ");
  }

  /* exchange.seq numbers the element ids, so they stay unique when old exchanges are dropped. */
  function renderExchange(exchange) {
    var i = exchange.seq;
    var data = exchange.response;
    var byNumber = {};
    (data.sources || []).forEach(function (source) {
      byNumber[source.n] = source;
    });
    var article = el("article", { className: "ps-utbyte", "aria-labelledby": "ps-" + i + "-fraga" }, [
      el("h3", { className: "ps-fraga-rubrik", id: "ps-" + i + "-fraga" }, [
        el("span", { className: "ps-vem", text: "Fråga: " }),
        exchange.question,
      ]),
    ]);
    var limits = filterText(exchange.filters || {});
    if (limits) article.appendChild(el("p", { className: "ps-liten", text: "Avgränsning: " + limits }));

    if (data.answered) {
      article.appendChild(el("h4", { text: "Svar" }));
      var list = el("ul", { className: "ps-svar" });
      data.answer.forEach(function (statement) {
        var item = el("li", { className: "ps-pastaende" }, [headsLine(statement), statement.text]);
        (statement.citations || []).forEach(function (n) {
          item.appendChild(document.createTextNode(" "));
          if (byNumber[n]) {
            item.appendChild(
              el("a", { className: "ps-ref", href: "#" + sourceId(i, n) }, [
                el("span", { className: "ps-dold", text: "källa " }),
                "[" + n + "]",
              ])
            );
          } else {
            item.appendChild(el("span", { className: "ps-ref", text: "[" + n + "]" }));
          }
        });
        list.appendChild(item);
      });
      article.appendChild(list);
      article.appendChild(el("h4", { text: "Källor" }));
    } else if (data.level === "possible" && data.possible && data.possible.length) {
      article.appendChild(
        el("div", { className: "ps-mojligt-svar" }, [
          el("p", { className: "ps-inget-svar-rubrik", text: "Möjligt svar – kontrollera källan" }),
          el("p", { className: "ps-pastaende" }, [
            headsLine(data.possible[0]),
            data.possible[0].text + " ",
            el("a", { className: "ps-ref", href: "#" + sourceId(i, 1) }, [
              el("span", { className: "ps-dold", text: "källa " }),
              "[1]",
            ]),
          ]),
        ])
      );
      if (data.reason && data.reason.text) {
        article.appendChild(el("p", { className: "ps-liten", text: "Varför inget säkert svar: " + data.reason.text }));
      }
      article.appendChild(el("h4", { text: "Källor att kontrollera" }));
    } else {
      var sentence = (data.answer && data.answer[0] && data.answer[0].text) || NO_ANSWER;
      article.appendChild(
        el("div", { className: "ps-inget-svar" }, [
          el("p", { className: "ps-inget-svar-rubrik", text: "Inget svar" }),
          el("p", { className: "ps-pastaende", text: sentence }),
          data.reason && data.reason.text ? el("p", { className: "ps-orsak", text: data.reason.text }) : null,
        ])
      );
      if (data.sources && data.sources.length) {
        article.appendChild(el("h4", { text: "Kanske relevant" }));
        article.appendChild(
          el("p", {
            className: "ps-liten",
            text: "Avsnitten nedan liknar frågan men besvarar den inte. De visas bara som hjälp att söka vidare.",
          })
        );
      }
    }

    var sources = el("ol", { className: data.answered ? "ps-kallor" : "ps-kallor ps-kanske" });
    (data.sources || []).forEach(function (source) {
      sources.appendChild(renderSource(source, i));
    });
    if (sources.children.length) article.appendChild(sources);

    article.appendChild(el("p", { className: "ps-forbehall" }, [el("strong", { text: "Observera: " }), data.disclaimer || NOTICE]));
    article.appendChild(
      el("p", {
        className: "ps-liten ps-spar",
        text: "Indexversion " + (data.index_version || "okänd") + " · spårnummer " + (data.trace_id || "saknas"),
      })
    );
    return article;
  }

  function renderSource(source, i) {
    var meta = el("dl", { className: "ps-meta" });
    metadata(source).forEach(function (row) {
      meta.appendChild(el("div", null, [el("dt", { text: row[0] }), el("dd", { text: row[1] })]));
    });
    return el("li", { className: "ps-kalla", id: sourceId(i, source.n), tabindex: "-1" }, [
      el("p", { className: "ps-kalla-titel" }, [
        el("span", { className: "ps-nummer", text: "[" + source.n + "] " }),
        source.title || source.doc_id,
      ]),
      meta,
      replacedBy(source),
      el("blockquote", { className: "ps-citat", cite: documentUrl(source) }, [el("p", { text: source.quote })]),
      el("p", { className: "ps-visa" }, [
        el("a", { href: documentUrl(source) }, [
          "Visa i dokumentet",
          el("span", { className: "ps-dold", text: " (källa " + source.n + ")" }),
        ]),
      ]),
    ]);
  }

  /* A cited decision that a later one replaced says so, and links the later one (issue 22). */
  function replacedBy(source) {
    var later = source.superseded_by;
    if (!later) return null;
    return el("p", { className: "ps-ersatt" }, [
      later.note + " ",
      el("a", { href: base + "/documents/" + encodeURIComponent(later.doc_id) }, [
        "Visa det senare beslutet",
        el("span", { className: "ps-dold", text: " (som ersatte källa " + source.n + ")" }),
      ]),
    ]);
  }

  /* ---------- copying and keeping the conversation ---------- */

  function conversationText(exchanges) {
    var lines = ["Protokollsök – samtal", "Kopierat " + new Date().toLocaleString("sv-SE"), ""];
    exchanges.forEach(function (exchange, index) {
      var data = exchange.response;
      lines.push("Fråga " + (index + 1) + ": " + exchange.question);
      var limits = filterText(exchange.filters || {});
      if (limits) lines.push("Avgränsning: " + limits);
      if (data.answered) {
        lines.push("Svar:");
        data.answer.forEach(function (statement) {
          var refs = (statement.citations || []).map(function (n) {
            return "[" + n + "]";
          });
          if (statement.heads) lines.push("  Kolumner: " + statement.heads);
          lines.push("- " + statement.text + (refs.length ? " " + refs.join(" ") : ""));
        });
        lines.push("Källor:");
      } else if (data.level === "possible" && data.possible && data.possible.length) {
        if (data.possible[0].heads) lines.push("Kolumner: " + data.possible[0].heads);
        lines.push("Möjligt svar – kontrollera källan: " + data.possible[0].text + " [1]");
        if (data.reason && data.reason.text) lines.push("Varför inget säkert svar: " + data.reason.text);
      } else {
        lines.push("Inget svar: " + ((data.answer && data.answer[0] && data.answer[0].text) || NO_ANSWER));
        if (data.reason && data.reason.text) lines.push("Varför: " + data.reason.text);
        if (data.sources && data.sources.length) lines.push("Kanske relevant (besvarar inte frågan):");
      }
      (data.sources || []).forEach(function (source) {
        lines.push("[" + source.n + "] " + (source.title || source.doc_id));
        lines.push(
          "    " +
            metadata(source)
              .map(function (row) {
                return row[0] === "Paragraf" ? row[1] : row[0] + " " + row[1];
              })
              .join(", ")
        );
        if (source.superseded_by) lines.push("    " + source.superseded_by.note);
        lines.push("    Citat: ”" + source.quote + "”");
        lines.push("    Visa i dokumentet: " + documentUrl(source));
      });
      lines.push("Observera: " + (data.disclaimer || NOTICE));
      lines.push("Indexversion " + (data.index_version || "okänd") + ", spårnummer " + (data.trace_id || "saknas"));
      lines.push("");
    });
    lines.push(NOTICE);
    return lines.join("\n");
  }

  Widget.prototype.copyConversation = function () {
    var self = this;
    var text = conversationText(this.exchanges);
    var done = function () {
      self.say("Samtalet är kopierat.");
    };
    var failed = function () {
      self.say("");
      self.error("Samtalet kunde inte kopieras. Markera texten och kopiera den med Ctrl + C i stället.");
    };
    this.clearError();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (legacyCopy(text, self.copy)) done();
        else failed();
      });
    } else if (legacyCopy(text, self.copy)) {
      done();
    } else {
      failed();
    }
  };

  /* For pages served over plain http, where navigator.clipboard does not exist. */
  function legacyCopy(text, returnFocus) {
    var area = el("textarea", { readonly: "", "aria-hidden": "true", tabindex: "-1", className: "ps-kopia" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    if (returnFocus) returnFocus.focus();
    return ok;
  }

  function load() {
    try {
      var data = JSON.parse(window.sessionStorage.getItem(storeKey) || "[]");
      if (!Array.isArray(data)) return [];
      return data
        .filter(function (x) {
          return x && typeof x.question === "string" && x.response && Array.isArray(x.response.answer);
        })
        .map(function (x, index) {
          x.seq = index + 1;
          return x;
        });
    } catch (e) {
      return [];
    }
  }

  function save(exchanges) {
    try {
      window.sessionStorage.setItem(storeKey, JSON.stringify(exchanges));
    } catch (e) {
      /* storage full or blocked: the conversation then lasts as long as the page */
    }
  }

  function start() {
    ensureStylesheet();
    new Widget(container());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
