// A 2026-07-28 server on the TypeScript SDK v2 (@modelcontextprotocol/server), for
// tests/test_interop_typescript.py: over stdio (default) or Streamable HTTP on 127.0.0.1
// (`http PORT`). Its tools ask for input the 2026-07-28 way (input_required rounds): an
// elicitation with requestState, a sampling request and a roots listing.
import http from 'node:http';
import { McpServer, createMcpHandler, inputRequired, acceptedContent, inputResponse } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

function factory() {
    const server = new McpServer({ name: 'ts-v2-interop', version: '1.0.0' },
        { capabilities: { tools: {}, resources: {}, prompts: {} } });
    server.registerTool('echo', { description: 'Echo', inputSchema: z.object({ message: z.string() }) },
        async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
    server.registerTool('add', { inputSchema: z.object({ a: z.number(), b: z.number() }), outputSchema: z.object({ sum: z.number() }) },
        async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }));
    server.registerTool('count', { inputSchema: z.object({ n: z.number() }) }, async ({ n }, ctx) => {
        const token = ctx.mcpReq._meta?.progressToken;
        for (let i = 1; i <= n; i++) {
            if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
        }
        return { content: [{ type: 'text', text: String(n) }] };
    });
    const nameSchema = z.object({ name: z.string() });
    server.registerTool('greet', { inputSchema: z.object({}) }, async (_args, ctx) => {
        const answer = acceptedContent(ctx.mcpReq.inputResponses, 'who', nameSchema);
        if (!answer) {
            return inputRequired({ inputRequests: { who: inputRequired.elicit({ message: 'Your name?', requestedSchema: nameSchema }) },
                                   requestState: 'round-1' });
        }
        return { content: [{ type: 'text', text: `Hello, ${answer.name}! (state ${ctx.mcpReq.requestState()})` }] };
    });
    server.registerTool('summarize', { inputSchema: z.object({ topic: z.string() }) }, async ({ topic }, ctx) => {
        const view = inputResponse(ctx.mcpReq.inputResponses, 'llm');
        if (view.kind !== 'sampling') {
            return inputRequired({ inputRequests: { llm: inputRequired.createMessage({
                messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${topic}` } }], maxTokens: 20 }) } });
        }
        return { content: [{ type: 'text', text: `model ${view.result.model} said: ${view.result.content.text}` }] };
    });
    server.registerTool('roots', { inputSchema: z.object({}) }, async (_args, ctx) => {
        const view = inputResponse(ctx.mcpReq.inputResponses, 'roots');
        if (view.kind !== 'roots') {
            return inputRequired({ inputRequests: { roots: inputRequired.listRoots() } });
        }
        return { content: [{ type: 'text', text: view.roots.map(r => r.uri).join(', ') }] };
    });
    server.registerResource('readme', 'docs://readme', { mimeType: 'text/plain' },
        async uri => ({ contents: [{ uri: uri.href, text: 'read me' }] }));
    server.registerPrompt('review', { argsSchema: z.object({ code: z.string() }) },
        ({ code }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Review: ${code}` } }] }));
    return server;
}

if (process.argv[2] === 'http') {
    const handler = createMcpHandler(factory);
    const port = Number(process.argv[3]);
    http.createServer(async (req, res) => {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const body = Buffer.concat(chunks);
        const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
            method: req.method, headers: req.headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body });
        const response = await handler.fetch(request);
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (response.body) {
            for await (const chunk of response.body) res.write(chunk);
        }
        res.end();
    }).listen(port, '127.0.0.1');
} else {
    serveStdio(factory);
}
