// netlang for VS Code: starts `netlang lsp` (the language server of the netlang Python
// package) for .net files. Everything the editor shows comes from that server; this file
// only finds the command and hands the documents over.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const configured = vscode.workspace.getConfiguration("netlang").get<string[]>("server.command");
  const [command, ...args] = configured && configured.length > 0 ? configured : ["netlang", "lsp"];
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "netlang" },
      { scheme: "untitled", language: "netlang" },
    ],
  };
  client = new LanguageClient("netlang", "netlang", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    void vscode.window.showErrorMessage(
      `netlang: could not start '${[command, ...args].join(" ")}' (${error}). ` +
        "Install the server with: pip install 'netlang[lsp]', or set netlang.server.command.",
    );
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
