// teamkb for VS Code: starts `teamkb serve lsp` and shows `teamkb/ask` answers in a panel.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

interface Citation { n: number; source: string; title: string; heading: string; lines: number[]; url: string; }
interface Answer { answer: string; citations: Citation[]; notice: string; degraded: boolean; abstained: boolean; }

let client: LanguageClient | undefined;
let panel: vscode.WebviewPanel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("teamkb");
  const [command, ...args] = config.get<string[]>("command", ["teamkb", "serve", "lsp"]);
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    // The server pulls the `teamkb` section; this also notifies it on change.
    synchronize: { configurationSection: "teamkb" },
  };
  client = new LanguageClient("teamkb", "teamkb", serverOptions, clientOptions);
  await client.start();

  context.subscriptions.push(
    vscode.commands.registerCommand("teamkb.ask", async () => {
      const editor = vscode.window.activeTextEditor;
      const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
      const question = await vscode.window.showInputBox({ prompt: "Ask the team docs", value: selected });
      if (!question || !client) {
        return;
      }
      const answer = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "teamkb: answering…", cancellable: true },
        (_progress, token) => client!.sendRequest<Answer>("teamkb/ask", { question }, token),
      );
      showAnswer(question, answer);
    }),
    vscode.commands.registerCommand("teamkb.syncDocs", async () => {
      const report = await client?.sendRequest("workspace/executeCommand", { command: "teamkb.sync", arguments: [] });
      vscode.window.showInformationMessage(`teamkb: indexed ${JSON.stringify(report)}`);
    }),
  );
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

function showAnswer(question: string, answer: Answer): void {
  if (!panel) {
    panel = vscode.window.createWebviewPanel("teamkbAnswer", "teamkb", vscode.ViewColumn.Beside, {});
    panel.onDidDispose(() => (panel = undefined));
  }
  const sources = answer.citations
    .map((c) => `<li><a href="${escape(c.url)}">${escape(c.title)} › ${escape(c.heading)}</a> <code>${escape(c.source)}:${c.lines[0]}</code></li>`)
    .join("");
  const notice = answer.notice ? `<p><em>${escape(answer.notice)}</em></p>` : "";
  panel.webview.html = `<!DOCTYPE html><html><body><h2>${escape(question)}</h2><p>${escape(answer.answer)}</p>${notice}<h3>Sources</h3><ol>${sources}</ol></body></html>`;
  panel.reveal(vscode.ViewColumn.Beside, true);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
