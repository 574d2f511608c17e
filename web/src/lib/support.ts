// The support assistant's streamed answer: POST …/ask answers with
// Server-Sent Events (token, citations, done, escalated, error), read from
// the fetch response's body as it arrives (EventSource cannot POST).
import { asProblem, csrfToken, type Problem, type Schemas } from './api'

export type AskHandlers = {
  token: (text: string) => void
  citations: (c: Schemas['SupportCitation'][]) => void
  done: (m: Schemas['SupportMessage']) => void
  escalated: (c: Schemas['SupportConversation']) => void
  error: (p: Problem) => void
}

// ask sends the question and calls the handlers as the answer streams. A
// refusal before the stream (problem+json) goes to handlers.error too.
export async function ask(account_id: string, conversation_id: string, question: string, h: AskHandlers): Promise<void> {
  let res: Response
  try {
    res = await fetch(`/api/v1/accounts/${encodeURIComponent(account_id)}/support/conversations/${encodeURIComponent(conversation_id)}/ask`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken(), Accept: 'text/event-stream' },
      body: JSON.stringify({ question }),
    })
  } catch (e) {
    h.error(asProblem(e))
    return
  }
  if (!res.ok || !(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream') || !res.body) {
    let body: unknown
    try {
      body = await res.json()
    } catch {
      body = undefined
    }
    h.error(asProblem(body, res.status))
    return
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buf += value
    let end: number
    while ((end = buf.indexOf('\n\n')) >= 0) {
      dispatch(buf.slice(0, end), h)
      buf = buf.slice(end + 2)
    }
  }
}

function dispatch(block: string, h: AskHandlers) {
  let name = ''
  let data = ''
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) name = line.slice(7)
    else if (line.startsWith('data: ')) data += line.slice(6)
  }
  if (!name || !data) return
  const v = JSON.parse(data)
  switch (name) {
    case 'token':
      h.token(v.text)
      break
    case 'citations':
      h.citations(v.citations)
      break
    case 'done':
      h.done(v.message)
      break
    case 'escalated':
      h.escalated(v.conversation)
      break
    case 'error':
      h.error(v as Problem)
      break
  }
}

// withoutMarkers removes the assistant's citation markers ([kb:<id>]) from
// an answer: the citations are listed under it.
export function withoutMarkers(text: string): string {
  return text.replace(/\s?\[kb:[^\]\s]+\]/g, '')
}
